"""``zoo sample`` asked for a class, in real processes: ``--class`` by name (any case) and by index, ``--class-grid``,
strips within a class, and every refusal as one message before any image is written.

The commands run at once, each in its own process with a timeout, on two tiny checkpoints: a conditional model
with Fashion-MNIST's class names and an unconditional one.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from PIL import Image

import zoo
from tests.conftest import REPO, synthetic_data, tiny_trainer

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NETS = {"generator": {"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        "discriminator": {"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}}}
COMMANDS = {  # name: (checkpoint, arguments after the checkpoint)
    "by_name": ("cgan", ["--class", "sneaker", "--n", "6", "--nrow", "3"]),
    "by_index": ("cgan", ["--class", "7", "--n", "6", "--nrow", "3"]),
    "by_other_case": ("cgan", ["--class", "SNEAKER", "--n", "6", "--nrow", "3"]),
    "grid": ("cgan", ["--class-grid", "--n", "4"]),
    "grid_mode": ("cgan", ["--mode", "classes", "--n", "4"]),
    "strips": ("cgan", ["--mode", "interpolate", "--class", "ankle boot", "--n", "2", "--steps", "5"]),
    "drs_class": ("cgan", ["--mode", "drs", "--class", "sneaker", "--n", "4", "--nrow", "2", "--no-calibrate"]),
    "ddls_class": ("cgan", ["--mode", "ddls", "--class", "bag", "--n", "3", "--steps", "5"]),
    "misspelt": ("cgan", ["--class", "snaeker"]),
    "out_of_range": ("cgan", ["--class", "12"]),
    "class_with_codes": ("cgan", ["--class", "bag", "--mode", "codes"]),
    "class_with_grid": ("cgan", ["--class", "bag", "--class-grid"]),
    "unconditional_class": ("dcgan", ["--class", "sneaker"]),
    "unconditional_grid": ("dcgan", ["--class-grid"]),
}


def _checkpoint(tmp: Path, name: str, **init_args) -> Path:
    model = zoo.create(name, image_shape=(1, 28, 28), **NETS, **init_args)
    trainer = tiny_trainer(tmp / name, max_epochs=1, limit_train_batches=1)
    trainer.fit(model, datamodule=synthetic_data())
    path = tmp / f"{name}.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every command of :data:`COMMANDS`, run as ``python -m zoo.cli sample`` in its own process."""
    tmp = tmp_path_factory.mktemp("conditional_cli")
    checkpoints = {"cgan": _checkpoint(tmp, "cgan", class_names=FASHION), "dcgan": _checkpoint(tmp, "dcgan")}
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}

    def run(item):
        name, (checkpoint, arguments) = item
        out = tmp / f"{name}.png"
        command = [sys.executable, "-m", "zoo.cli", "sample", "--ckpt", str(checkpoints[checkpoint]),
                   "--out", str(out), "--no-progress", *arguments]
        return name, (subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240), out)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, COMMANDS.items()))


def _ok(results, name: str) -> Image.Image:
    process, out = results[name]
    assert process.returncode == 0, process.stderr[-2000:]
    return Image.open(out)


def test_a_class_by_name_in_any_case_and_by_index_gives_the_same_images(results):
    grids = [_ok(results, name) for name in ("by_name", "by_index", "by_other_case")]
    assert grids[0].size == (3 * 30 + 2, 2 * 30 + 2)
    assert grids[0].tobytes() == grids[1].tobytes() == grids[2].tobytes()
    assert "wrote 6 images (plain) of CGAN" in results["by_name"][0].stdout


def test_class_grid_has_a_row_per_class_and_a_column_per_sample(results):
    grid, mode = _ok(results, "grid"), _ok(results, "grid_mode")
    assert grid.size == (4 * 30 + 2, 10 * 30 + 2) and grid.tobytes() == mode.tobytes()
    assert "wrote 40 images (classes)" in results["grid"][0].stdout
    pixels = torch.tensor(list(grid.convert("L").getdata()), dtype=torch.float).view(grid.size[1], grid.size[0])
    rows = [pixels[2 + 30 * r: 30 * (r + 1), :] for r in range(10)]
    assert any((rows[r] - rows[0]).abs().max() > 0 for r in range(1, 10))  # the classes look different


def test_interpolation_within_a_class(results):
    assert _ok(results, "strips").size == (5 * 30 + 2, 2 * 30 + 2)


def test_drs_and_ddls_sample_the_class_asked_for_by_its_own_density_ratio(results):
    assert _ok(results, "drs_class").size == (2 * 30 + 2, 2 * 30 + 2)
    assert "DRS acceptance rate" in results["drs_class"][0].stdout and "over 1 class(es)" in \
        results["drs_class"][0].stdout
    assert _ok(results, "ddls_class").size[1] == 30 + 2
    assert "wrote 3 images (ddls) of CGAN" in results["ddls_class"][0].stdout


@pytest.mark.parametrize("name, message", [
    ("misspelt", r"CGAN has no class 'snaeker'\. Did you mean 'Sneaker'\?"),
    ("out_of_range", "class index 12 is out of range: CGAN has 10 classes"),
    ("class_with_codes", "--class applies to --mode plain, interpolate, neighbours, drs, ddls, not codes"),
    ("class_with_grid", r"not classes \(the grid shows every class\)"),
    ("unconditional_class", r"DCGAN is an unconditional model .* so it takes no class \(--class\); the models that "
                            "take labels: acgan, cgan, cgan_pd, cvae"),
    ("unconditional_grid", r"DCGAN is an unconditional model .* takes no class grid \(--class-grid\)"),
])
def test_every_refusal_is_one_message_before_any_image(results, name, message):
    import re

    process, out = results[name]
    assert process.returncode == 1, process.stderr[-2000:]
    lines = process.stderr.strip().splitlines()
    assert lines[0].startswith("zoo: error: ") and re.search(message, lines[0]), process.stderr
    assert lines[1].startswith("fix: ") and "Traceback" not in process.stderr
    assert not out.exists()
