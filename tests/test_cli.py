"""The zoo command: Lightning's subcommands, list, sample, config lookup by name, and errors with their fix."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import zoo
from zoo.catalog import config_matrix
from zoo.cli import main

TINY_FIT = [
    "fit",
    "--model=DCGAN",  # short class names work: the registry imports every model first
    "--model.init_args.generator=zoo.nets.DCGANGenerator",
    "--model.init_args.generator.init_args.base_channels=8",
    "--model.init_args.discriminator=zoo.nets.DCGANDiscriminator",
    "--model.init_args.discriminator.init_args.base_channels=8",
    "--data=SyntheticDataModule",
    "--data.init_args.num_images=48",
    "--data.init_args.val_size=16",
    "--data.init_args.batch_size=8",
    "--trainer.max_steps=6",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
    "--images.every_n_batches=2",
]


def _run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out + captured.err


def test_help_lists_lightning_and_zoo_subcommands(capsys):
    code, out = _run(["--help"], capsys)
    assert code == 0
    for command in ("fit", "validate", "test", "predict", "list", "sample"):
        assert command in out


def test_fit_help_and_print_config_with_a_bare_config_name(capsys):
    assert _run(["fit", "--help"], capsys)[0] == 0
    code, out = _run(["fit", "--config", "dcgan_mnist.yaml", "--print_config"], capsys)
    assert code == 0
    assert "zoo.models.gan.DCGAN" in out and "MNISTDataModule" in out


def test_list_prints_models_and_configs(capsys):
    main(["list"])
    out = capsys.readouterr().out
    for entry in zoo.list_models():
        assert entry.name in out
    assert "Goodfellow" in out and "vae_fashion_mnist.yaml" in out
    matrix = out[out.index("configs per model and dataset"):out.index("configs (zoo fit")]
    header = next(line for line in matrix.splitlines() if "mnist" in line)
    columns = [c.strip() for c in header.strip("┃ ").split("┃")]
    assert columns == ["model", "mnist", "fashion_mnist", "cifar10", "celeba"]
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in matrix.splitlines()
            if line.startswith("│")}
    assert set(rows) == {entry.name for entry in zoo.list_models()}
    assert rows["wae"][0] == "wae_gan, wae_mmd" and "dcgan_small" in rows["dcgan"][1].split(", ")


def test_config_matrix_reads_model_and_data_from_the_configs(tmp_path):
    def config(name, model, data):
        (tmp_path / name).write_text(f"model: {{class_path: {model}}}\ndata: {{class_path: datamodules.{data}}}\n")
        return name, tmp_path / name

    configs = dict([
        config("dcgan_cifar10.yaml", "zoo.models.gan.DCGAN", "CIFAR10DataModule"),
        config("my_run.yaml", "zoo.models.gan.DCGAN", "CelebADataModule"),  # the file name does not matter
        config("gan_tiny.yaml", "zoo.models.gan.GAN", "SyntheticDataModule"),  # not one of the four datasets
    ])
    matrix = config_matrix(configs, zoo.list_models())
    assert set(matrix) == {entry.name for entry in zoo.list_models()}
    assert matrix["dcgan"] == {"mnist": [], "fashion_mnist": [], "cifar10": ["dcgan_cifar10"], "celeba": ["my_run"]}
    assert not any(matrix["gan"].values())


def test_fit_writes_checkpoint_and_grids_then_sample_loads_it_without_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main([*TINY_FIT, "--trainer.default_root_dir=run"])
    out = capsys.readouterr()
    checkpoint = next(Path("run").rglob("last.ckpt"))
    assert f"checkpoint: {checkpoint}" in out.out + out.err
    images = sorted(p.name for p in Path("run").rglob("*.png"))
    # 3 iterations: grids at iteration 2 and at the end
    assert images == ["interpolation_0000002.png", "interpolation_final.png", "samples_0000002.png", "samples_final.png"]

    main(["sample", "--ckpt", str(checkpoint), "--n", "10", "--nrow", "5", "--out", "grid.png"])
    grid = Image.open("grid.png")
    assert grid.size == (5 * 30 + 2, 2 * 30 + 2)  # 28 px images with 2 px padding
    model = zoo.load(checkpoint)
    assert model.iteration == 3 and model.sample(3).shape == (3, 1, 28, 28)


def test_unknown_config_key_names_the_key_and_the_fix(capsys):
    code, out = _run(["fit", "--config", "vae_mnist.yaml", "--model.init_args.latent_dims=3"], capsys)
    assert code == 2
    assert "latent_dims" in out and "--print_config" in out


def test_unknown_model_class_lists_the_registered_models(capsys):
    code, out = _run(["fit", "--config", "vae_mnist.yaml", "--model=zoo.models.NoSuchGAN"], capsys)
    assert code == 2
    assert "NoSuchGAN" in out and "dcgan (zoo.models.gan.DCGAN)" in out


def test_image_size_the_nets_cannot_make_is_refused_before_training(capsys):
    code, out = _run(["fit", "--config", "dcgan_mnist.yaml", "--data.init_args.image_size=30"], capsys)
    assert code != 0
    assert "30×30" in out and "image_size" in out


def test_missing_dataset_says_how_to_get_it(tmp_path, capsys):
    code, out = _run(
        ["fit", "--config", "vae_mnist.yaml", f"--data.init_args.data_dir={tmp_path}", "--data.init_args.download=false"],
        capsys,
    )
    assert code == 1 and "MNIST not found" in out and "raw" in out


def test_corrupt_checkpoint_is_refused_with_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code, out = _run(["sample", "--ckpt", str(bad), "--out", str(tmp_path / "x.png")], capsys)
    assert code == 1 and "not a readable checkpoint" in out and "truncated or corrupt" in out
    assert not (tmp_path / "x.png").exists()


def test_console_script_is_installed():
    result = subprocess.run([Path(sys.executable).with_name("zoo"), "list"], capture_output=True, text=True)
    if result.returncode != 0:  # not in the interpreter's bin folder (e.g. a user install): try PATH
        result = subprocess.run(["zoo", "list"], capture_output=True, text=True)
    assert result.returncode == 0 and "dcgan" in result.stdout
