"""β-VAE (Higgins et al. 2017; Burgess et al. 2018) and β-TCVAE (Chen et al. 2018): the KL decomposition's
estimator against closed forms and brute force, the capacity schedule, the argument checks, the dataset size the
data modules report and the CLI links, and a short learning check on Fashion-MNIST."""

import math

import pytest
import torch
from lightning.pytorch import seed_everything

import zoo
from tests import tiny_datasets
from tests.conftest import REPO, fashion_mnist, needs_fashion_mnist, synthetic_data, tiny_trainer
from zoo.arguments import InvalidArgument
from zoo.losses.disentangling import capacity, gaussian_log_density, minibatch_weighted_sampling
from zoo.losses.variational import gaussian_kl

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"encoder": {"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
         "decoder": {"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 8}}}


def posteriors(n: int, d: int, seed: int = 0, spread: float = 1.5):
    """``n`` diagonal Gaussian posteriors in ``d`` dimensions, correlated across dimensions through their means."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 1, generator=g, dtype=torch.float64) * spread
    mu = base + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)  # shared offset: dependent dimensions
    logvar = torch.log(0.2 + 0.6 * torch.rand(n, d, generator=g, dtype=torch.float64))
    return mu, logvar


# --- the estimator -----------------------------------------------------------------------------------------------


def test_the_three_estimates_sum_to_the_single_sample_kl_whatever_n():
    mu, logvar = posteriors(16, 4)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    single_sample_kl = (gaussian_log_density(z, mu, logvar) - gaussian_log_density(z, 0 * z, 0 * z)).sum(1)
    for n in (16, 1000, 60000):
        mi, tc, dwkl = minibatch_weighted_sampling(z, mu, logvar, n)
        torch.testing.assert_close(mi + tc + dwkl, single_sample_kl)
    # and N only shifts the terms by constants: log(N'/N) (MI), (D - 1) log(N'/N) (TC), -D log(N'/N) (DWKL)
    a, b = minibatch_weighted_sampling(z, mu, logvar, 100), minibatch_weighted_sampling(z, mu, logvar, 100 * math.e)
    torch.testing.assert_close(b.mi - a.mi, torch.full_like(a.mi, 1.0))
    torch.testing.assert_close(b.tc - a.tc, torch.full_like(a.tc, 3.0))
    torch.testing.assert_close(b.dwkl - a.dwkl, torch.full_like(a.dwkl, -4.0))


def test_with_the_whole_dataset_as_batch_mws_is_the_exact_aggregate_posterior_less_log_m():
    """Batch = the N training images: the MWS sums run over every image, so they are the exact aggregate posterior
    q(z) = 1/N Σ_n q(z|n) (and its marginals), computed here image by image, up to the estimator's -log M."""
    n, d = 6, 3
    mu, logvar = posteriors(n, d, seed=1)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    normal = lambda i: torch.distributions.Normal(mu[i], (0.5 * logvar[i]).exp())  # noqa: E731
    log_qz, log_qzd = torch.empty(n, dtype=torch.float64), torch.empty((n, d), dtype=torch.float64)
    for i in range(n):
        densities = torch.stack([normal(j).log_prob(z[i]) for j in range(n)])  # (N, D): log q(z_i,d | n_j)
        log_qz[i] = torch.logsumexp(densities.sum(1), 0) - math.log(n)
        log_qzd[i] = torch.logsumexp(densities, 0) - math.log(n)
    log_q_cond = torch.stack([normal(i).log_prob(z[i]).sum() for i in range(n)])
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    exact_mi, exact_tc, exact_dwkl = log_q_cond - log_qz, log_qz - log_qzd.sum(1), log_qzd.sum(1) - log_p

    mi, tc, dwkl = minibatch_weighted_sampling(z, mu, logvar, dataset_size=n)
    log_m = math.log(n)
    torch.testing.assert_close(mi, exact_mi + log_m)
    torch.testing.assert_close(tc, exact_tc + (d - 1) * log_m)
    torch.testing.assert_close(dwkl, exact_dwkl - d * log_m)


def test_mws_averages_to_the_decomposition_integrated_on_a_grid():
    """Three images, a 2-D code: I(z; n), TC and the dimension-wise KL integrated numerically on a grid; they sum to
    the closed-form average KL, and the MWS estimates (batch = the three images, the -log M terms removed) average
    to them over many draws of z."""
    n, d = 3, 2
    mu, logvar = posteriors(n, d, seed=2, spread=1.0)
    std = (0.5 * logvar).exp()
    axis = torch.linspace(-7, 7, 701, dtype=torch.float64)
    step = float(axis[1] - axis[0])
    # q(z_d | n) on the axis: (N, D, G); q(z | n) on the grid: (N, G, G)
    q1 = torch.exp(gaussian_log_density(axis, mu.unsqueeze(-1), logvar.unsqueeze(-1)))
    q_cond = q1[:, 0, :, None] * q1[:, 1, None, :]
    q_agg = q_cond.mean(0)  # q(z)
    q_marg = q1.mean(0)  # q(z_d): (D, G)
    q_prod = q_marg[0, :, None] * q_marg[1, None, :]
    p1 = torch.exp(-0.5 * axis**2) / math.sqrt(2 * math.pi)
    tiny = 1e-300
    mi = (q_cond * (torch.log(q_cond + tiny) - torch.log(q_agg + tiny))).sum((1, 2)).mean() * step**2
    tc = (q_agg * (torch.log(q_agg + tiny) - torch.log(q_prod + tiny))).sum() * step**2
    dwkl = sum((q_marg[k] * (torch.log(q_marg[k] + tiny) - torch.log(p1))).sum() * step for k in range(d))
    mean_kl = gaussian_kl(mu, logvar).mean()
    torch.testing.assert_close(mi + tc + dwkl, mean_kl, atol=1e-4, rtol=0)  # Chen et al. 2018, eq. 2
    assert mi > 0.05 and tc > 0.01  # the example does exercise both terms

    g = torch.Generator().manual_seed(3)
    draws = 20000
    z = mu + torch.randn(draws, n, d, generator=g, dtype=torch.float64) * std  # (K, N, D): K minibatches
    estimates = [minibatch_weighted_sampling(batch, mu, logvar, dataset_size=n) for batch in z]
    log_m = math.log(n)
    est_mi = torch.stack([e.mi for e in estimates]).mean() - log_m
    est_tc = torch.stack([e.tc for e in estimates]).mean() - (d - 1) * log_m
    est_dwkl = torch.stack([e.dwkl for e in estimates]).mean() + d * log_m
    for name, estimate, exact in (("mi", est_mi, mi), ("tc", est_tc, tc), ("dwkl", est_dwkl, dwkl)):
        assert abs(float(estimate - exact)) < 0.03, (name, float(estimate), float(exact))


# --- β-VAE -------------------------------------------------------------------------------------------------------


def test_capacity_rises_linearly_then_holds():
    assert capacity(0, 25.0, 1000) == 0.0
    assert capacity(500, 25.0, 1000) == 12.5
    assert capacity(1000, 25.0, 1000) == 25.0
    assert capacity(5000, 25.0, 1000) == 25.0
    model = zoo.create("beta_vae", objective="burgess", capacity_max=8.0, capacity_iterations=4, **SMALL)
    assert [model.capacity(t) for t in (0, 2, 4, 9)] == [0.0, 4.0, 8.0, 8.0]


def test_burgess_capacity_follows_the_training_iterations_and_is_logged(tmp_path):
    seed_everything(0)
    model = zoo.create("beta_vae", objective="burgess", gamma=10.0, capacity_max=8.0, capacity_iterations=4, **SMALL)
    trainer = tiny_trainer(tmp_path, max_steps=3, max_epochs=-1)
    trainer.fit(model, datamodule=synthetic_data())
    logged = trainer.callback_metrics
    assert float(logged["train/vae/capacity"]) == 4.0  # the last batch was iteration 2 of 4
    kl, recon = float(logged["train/vae/kl"]), float(logged["train/vae/recon"])
    assert float(logged["train/vae/loss"]) == pytest.approx(recon + 10.0 * abs(kl - 4.0), rel=1e-5)
    assert float(logged["train/vae/nelbo"]) == pytest.approx(recon + kl, rel=1e-5)  # the true ELBO


def _burgess_run(tmp_path, iterations, resume_from=None, save_to=None):
    seed_everything(0)
    model = zoo.create("beta_vae", objective="burgess", gamma=5.0, capacity_max=6.0, capacity_iterations=8, **SMALL)
    trainer = tiny_trainer(tmp_path, max_steps=iterations, max_epochs=-1)
    trainer.fit(model, datamodule=synthetic_data(), ckpt_path=resume_from)
    if save_to:
        trainer.save_checkpoint(save_to)
    return model, trainer


def test_a_resumed_burgess_run_continues_its_capacity_bit_for_bit(tmp_path):
    straight, trainer = _burgess_run(tmp_path / "a", 10)
    _burgess_run(tmp_path / "b", 5, save_to=tmp_path / "half.ckpt")
    resumed, resumed_trainer = _burgess_run(tmp_path / "c", 10, resume_from=tmp_path / "half.ckpt")
    assert resumed.iteration == 10 and resumed.capacity() == straight.capacity() == 6.0
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    losses = [float(t.callback_metrics["train/vae/loss"]) for t in (trainer, resumed_trainer)]
    assert losses[0] == losses[1]


def test_higgins_with_beta_1_is_the_vae():
    settings = dict(image_shape=(1, 28, 28), latent_dim=6, **SMALL)
    torch.manual_seed(0)
    vae = zoo.create("vae", beta=1.0, **settings)
    torch.manual_seed(0)
    beta_vae = zoo.create("beta_vae", objective="higgins", beta=1.0, **settings)
    for key, value in vae.state_dict().items():
        assert torch.equal(value, beta_vae.state_dict()[key]), key
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    expected = vae.elbo_terms(x)
    torch.manual_seed(1)
    got = beta_vae.training_terms(x)
    for key in ("loss", "recon", "kl", "nelbo"):
        assert torch.equal(expected[key], got[key]), key
    assert torch.equal(got["loss"], got["nelbo"])


@pytest.mark.parametrize("name, arguments, message", [
    ("beta_vae", {"gamma": -1.0}, "gamma must be > 0, got -1.0"),
    ("beta_vae", {"capacity_iterations": 0}, "capacity_iterations must be >= 1, got 0"),
    ("beta_vae", {"capacity_max": -5.0}, "capacity_max must be >= 0"),
    ("beta_vae", {"beta": -4.0}, "beta must be >= 0"),
    ("beta_vae", {"objective": "chen"}, "objective must be one of higgins, burgess, got 'chen'. Fix:"),
    ("betatc_vae", {"beta": -6.0}, "beta must be >= 0"),
    ("betatc_vae", {"alpha": float("nan")}, "alpha must be >= 0"),
    ("betatc_vae", {"dataset_size": 0}, "dataset_size must be >= 1, got 0"),
])
def test_bad_arguments_are_refused_before_any_net_is_built(name, arguments, message):
    built = []

    def net(*args):
        built.append(args)
        raise AssertionError("a net was built")

    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        zoo.create(name, encoder=net, decoder=net, **arguments)
    assert not built


# --- β-TCVAE -----------------------------------------------------------------------------------------------------


def test_betatc_vae_logs_the_decomposition_and_takes_n_from_the_data(tmp_path):
    seed_everything(0)
    model = zoo.create("betatc_vae", **SMALL)
    data = synthetic_data()
    trainer = tiny_trainer(tmp_path, max_steps=2, max_epochs=-1)
    trainer.fit(model, datamodule=data)
    assert model.dataset_size == model.hparams["dataset_size"] == data.dataset_size == 64  # 80 images - 16 held out
    logged = {k.removeprefix("train/vae/"): float(v) for k, v in trainer.callback_metrics.items()}
    assert {"mi", "tc", "dwkl", "kl", "recon", "nelbo"} <= set(logged)
    assert logged["loss"] == pytest.approx(logged["recon"] + logged["mi"] + 6 * logged["tc"] + logged["dwkl"],
                                           rel=1e-5)
    assert logged["nelbo"] == pytest.approx(logged["recon"] + logged["kl"], rel=1e-5)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    assert zoo.load(tmp_path / "m.ckpt").dataset_size == 64


def test_betatc_vae_warns_when_built_for_another_dataset_size(tmp_path):
    model = zoo.create("betatc_vae", dataset_size=1000, **SMALL)
    with pytest.warns(UserWarning, match="dataset_size=1000 training images, but the data module's training split "
                                         "holds 64"):
        tiny_trainer(tmp_path, max_steps=1, max_epochs=-1).fit(model, datamodule=synthetic_data())


# --- the dataset size the data modules report, and the CLI link ---------------------------------------------------


def test_every_data_module_reports_its_training_split_before_reading_images(tmp_path, monkeypatch):
    from datamodules import (CelebADataModule, CIFAR10DataModule, FashionMNISTDataModule, ImageFolderDataModule,
                             MNISTDataModule)
    from tests.test_image_folder import two_classes

    arrays = tiny_datasets.mnist_arrays()  # 30 training images
    tiny_datasets.write_idx_folder(tmp_path / "MNIST" / "raw", arrays)
    gz = tmp_path / "packaged"
    tiny_datasets.write_idx_folder(gz, arrays, compress=True)
    tiny_datasets.write_cifar(tmp_path)  # 20 training images
    tiny_datasets.write_celeba(tmp_path)  # 4 in the official training split
    tiny_datasets.patch_cifar_md5s(monkeypatch, tmp_path / "cifar-10-batches-py")
    tiny_datasets.patch_celeba_md5s(monkeypatch, tmp_path / "celeba")
    common = dict(data_dir=str(tmp_path), batch_size=2, download=False)
    modules = {
        "mnist": (MNISTDataModule(val_size=4, **common), 26),
        "mnist subset": (MNISTDataModule(val_size=4, train_subset=10, **common), 10),
        "gzipped": (FashionMNISTDataModule(val_size=5, system_dir=str(gz), **common), 25),
        "cifar10": (CIFAR10DataModule(val_size=4, **common), 16),
        "celeba": (CelebADataModule(image_size=8, crop_size=16, **common), 4),
        "synthetic": (synthetic_data(), 64),
        "image folder": (ImageFolderDataModule(str(two_classes(tmp_path / "folder")), image_size=8, channels=1,
                                               data_dir=str(tmp_path / "cache"), batch_size=2), 16),
    }
    for name, (module, expected) in modules.items():
        assert module.dataset_size == expected, name
        module.setup("fit")
        assert len(module.train_set) == module.dataset_size, name
    published = MNISTDataModule(data_dir=str(tmp_path / "nowhere"), download=False)
    assert published.dataset_size == 60000 - 5000  # the published count while the files are not on disk


@pytest.fixture
def tiny_mnist(tmp_path):
    tiny_datasets.write_idx_folder(tmp_path / "MNIST" / "raw", tiny_datasets.mnist_arrays())
    return [f"--data.init_args.data_dir={tmp_path}", "--data.init_args.val_size=4", "--data.init_args.batch_size=2",
            "--data.init_args.download=false", "--trainer.logger=false"]


def test_the_cli_links_the_dataset_size_and_refuses_a_config_that_contradicts_it(tiny_mnist, tmp_path, monkeypatch):
    from zoo.cli import ZooCLI
    from zoo.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    config = str(REPO / "configs" / "betatc_vae_mnist.yaml")
    cli = ZooCLI(args=["--config", config, *tiny_mnist, "--data.init_args.train_subset=20"], run=False)
    assert cli.model.dataset_size == cli.datamodule.dataset_size == 20
    with pytest.raises(ConfigError, match=r"dataset_size 60000 \(the data's: 26\).*train_subset or val_size"):
        ZooCLI(args=["--config", config, *tiny_mnist, "--model.init_args.dataset_size=60000"], run=False)
    unrelated = ZooCLI(args=["--config", str(REPO / "configs" / "beta_vae_mnist.yaml"), *tiny_mnist], run=False)
    assert "dataset_size" not in unrelated.model.hparams  # models that do not declare it take no link


# --- learning ------------------------------------------------------------------------------------------------------


@needs_fashion_mnist
@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.parametrize("name, arguments", [
    ("beta_vae", {"objective": "higgins", "beta": 4.0}),
    ("beta_vae", {"objective": "burgess", "gamma": 100.0, "capacity_max": 10.0, "capacity_iterations": 60}),
    ("betatc_vae", {"beta": 6.0}),
], ids=["higgins", "burgess", "betatc"])
def test_the_negative_elbo_falls_on_fashion_mnist(name, arguments, tmp_path):
    """About 100 batches of 64 on a 2048-image subset (a few seconds each): the held-out negative ELBO falls well
    below the untrained model's (~540 nats: 784 pixels at chance), the code keeps information, and the Burgess KL
    follows its capacity."""
    seed_everything(0)
    data = fashion_mnist(batch_size=64, train_subset=2048, val_size=512)
    model = zoo.create(name, latent_dim=8, **SMALL, **arguments)
    validate = lambda: tiny_trainer(tmp_path, limit_val_batches=1.0).validate(model, datamodule=data,  # noqa: E731
                                                                               verbose=False)[0]
    before = float(validate()["val/nelbo"])
    trainer = tiny_trainer(tmp_path, max_steps=100, max_epochs=-1)
    trainer.fit(model, datamodule=data)
    after = float(validate()["val/nelbo"])
    last = {k.removeprefix("train/vae/"): float(v) for k, v in trainer.callback_metrics.items()}
    assert after < 0.7 * before, (before, after)
    assert last["kl"] > 1.0, "posterior collapsed: the code carries no information"
    if arguments.get("objective") == "burgess":
        assert last["capacity"] == 10.0 and abs(last["kl"] - 10.0) < 3.0, last  # the KL follows C
