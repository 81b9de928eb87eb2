"""Latent priors fitted to a model's codes after training (``zoo fit-prior``; :mod:`zoo.sampling.latent_priors`):
the mixture's density and fit, the second-stage VAE, ``sample(prior=...)``, the checkpoint round trip, the command
and its refusals, and resuming training from a checkpoint that holds fitted priors."""

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from tests.conftest import REPO, run_in_process, synthetic_data, tiny_trainer
from zoo.core.base import to_unit_range
from zoo.registry import get_model, list_models
from zoo.sampling.latent_priors import (GaussianMixturePrior, LatentCodeUnavailable, PriorNotFitted, TwoStageVAE,
                                        models_with_latent_code)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_NETS = dict(encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
                 decoder={"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 8}})
TINY_TWO_STAGE = ["--hidden", "16", "--depth", "1", "--epochs", "2"]


def _zoo_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``zoo ARGS`` in a real process with this checkout's code first on the path."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get(
        "PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("latent_priors")


@pytest.fixture(scope="module")
def ae_checkpoint(folder) -> Path:
    """A tiny autoencoder (4-D codes) trained for 4 batches on 64 synthetic images, saved with its optimiser."""
    torch.manual_seed(0)
    model = zoo.create("ae", latent_dim=4, **TINY_NETS)
    trainer = tiny_trainer(folder, max_steps=4)
    trainer.fit(model, datamodule=synthetic_data(num_images=80, batch_size=16))
    path = folder / "ae.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def fitted_checkpoint(ae_checkpoint, folder) -> Path:
    """The autoencoder with a gmm (3 components) and then a tiny two-stage VAE fitted into a copy of it."""
    gmm, both = folder / "gmm.ckpt", folder / "both.ckpt"
    code, err = run_in_process(["fit-prior", "--ckpt", str(ae_checkpoint), "--kind", "gmm", "--components", "3",
                                "--out", str(gmm), "--no-progress"], with_stdout=True)
    assert code == 0, err
    code, err = run_in_process(["fit-prior", "--ckpt", str(gmm), "--kind", "two-stage", *TINY_TWO_STAGE,
                                "--out", str(both), "--no-progress"], with_stdout=True)
    assert code == 0, err
    assert "fitted a second-stage VAE" in err and "priors: plain, gmm, two-stage" in err
    return both


# --- the Gaussian mixture ----------------------------------------------------------------------------------------


def test_gmm_log_likelihood_equals_a_brute_force_sum_over_components():
    rng = np.random.default_rng(0)
    k, d = 3, 2
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(size=(k, d))
    factors = rng.normal(size=(k, d, d))
    covariances = factors @ factors.transpose(0, 2, 1) + 0.5 * np.eye(d)
    z = rng.normal(size=(5, d)) * 2
    prior = GaussianMixturePrior(*(torch.from_numpy(a) for a in (weights, means, covariances)))

    # log Σ_k π_k (2π)^{-d/2} |Σ_k|^{-1/2} exp(-(z - μ_k)ᵀ Σ_k⁻¹ (z - μ_k) / 2), written out
    expected = []
    for point in z:
        total = 0.0
        for w, mu, cov in zip(weights, means, covariances):
            diff = point - mu
            total += w * math.exp(-0.5 * diff @ np.linalg.inv(cov) @ diff) / math.sqrt(
                (2 * math.pi) ** d * np.linalg.det(cov))
        expected.append(math.log(total))
    assert torch.allclose(prior.log_prob(torch.from_numpy(z)), torch.tensor(expected, dtype=torch.float64),
                          atol=1e-10)


def _three_clusters(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """2-D points from three well-separated Gaussians with weights 0.5, 0.3, 0.2."""
    rng = np.random.default_rng(seed)
    means = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, -2.0]])
    counts = (np.array([0.5, 0.3, 0.2]) * n).astype(int)
    scales = [np.array([[1.0, 0.0], [0.0, 0.3]]), np.array([[0.5, 0.4], [0.0, 0.5]]), 0.4 * np.eye(2)]
    points = np.concatenate([rng.normal(size=(c, 2)) @ s + m for c, s, m in zip(counts, scales, means)])
    return torch.from_numpy(points), means, counts / n


def test_gmm_fit_recovers_the_components_of_synthetic_2d_data():
    points, means, weights = _three_clusters()
    prior = GaussianMixturePrior.fit(points, components=3, seed=0)
    order = [int(torch.cdist(torch.from_numpy(m)[None], prior.means).argmin()) for m in means]
    assert sorted(order) == [0, 1, 2]
    assert torch.allclose(prior.means[order], torch.from_numpy(means), atol=0.2)
    assert torch.allclose(prior.weights[order], torch.from_numpy(weights), atol=0.02)
    assert prior.fitted["converged"]
    # samples land in the clusters in the fitted proportions
    draws = prior.sample(3000, torch.Generator().manual_seed(0)).double()
    nearest = torch.cdist(draws, torch.from_numpy(means)).argmin(1)
    assert torch.allclose(torch.bincount(nearest, minlength=3).double() / 3000, torch.from_numpy(weights), atol=0.03)


def test_gmm_fit_and_samples_are_deterministic_by_seed():
    points = _three_clusters(300)[0]
    a, b = (GaussianMixturePrior.fit(points, components=4, seed=3) for _ in range(2))
    for key in ("weights", "means", "covariances"):
        assert torch.equal(getattr(a, key), getattr(b, key))
    draw = lambda prior, seed: prior.sample(50, torch.Generator().manual_seed(seed))  # noqa: E731
    before = torch.get_rng_state()
    assert torch.equal(draw(a, 1), draw(b, 1)) and not torch.equal(draw(a, 1), draw(a, 2))
    assert torch.equal(torch.get_rng_state(), before)  # a seeded draw leaves the global RNG alone


# --- the second-stage VAE ----------------------------------------------------------------------------------------


def test_two_stage_vae_loss_falls_and_its_fit_is_deterministic_by_seed():
    codes = _three_clusters(512)[0].float()
    first = TwoStageVAE.fit(codes, seed=0, epochs=6, hidden=32, depth=2, batch_size=64)
    losses = first.fitted["losses"]
    assert losses[-1] < losses[0] - 1.0, losses
    again = TwoStageVAE.fit(codes, seed=0, epochs=6, hidden=32, depth=2, batch_size=64)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in first.state_dict().items())
    samples = first.sample(20, torch.Generator().manual_seed(0))
    assert samples.shape == (20, 2) and torch.equal(samples, again.sample(20, torch.Generator().manual_seed(0)))


# --- which models have a code -------------------------------------------------------------------------------------


def test_every_model_with_a_latent_code_gives_a_deterministic_code_of_the_latent_size():
    can = set(models_with_latent_code())
    assert {"ae", "dae", "vae", "aae", "wae", "bigan", "ali", "alpha_gan", "veegan", "avb", "vaegan"} <= can
    assert not {"cvae", "gumbel_vae", "dcgan", "gan", "infogan"} & can
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    for entry in list_models():
        if entry.name not in can:
            continue
        torch.manual_seed(0)
        model = entry.cls(latent_dim=3).eval()
        with torch.no_grad():
            code = model.latent_code(x)
            assert code.shape == (2, 3) and torch.equal(code, model.latent_code(x)), entry.name


@pytest.mark.parametrize("name, reason", [("dcgan", "it has no encoder"), ("cvae", "it is conditional"),
                                          ("gumbel_vae", "discrete")])
def test_models_without_a_continuous_unconditional_code_are_refused_naming_the_models_that_have_one(name, reason):
    with pytest.raises(LatentCodeUnavailable) as refusal:
        from zoo.sampling.latent_priors import latent_code_refusal

        raise latent_code_refusal(get_model(name).cls)
    message = str(refusal.value)
    assert reason in message and "models that have them: " in message and ", vae" in message and "Fix: " in message


# --- sample(prior=...) and the checkpoint ----------------------------------------------------------------------


def test_plain_sampling_is_unchanged_by_fitted_priors(ae_checkpoint, fitted_checkpoint):
    original, fitted = zoo.load(ae_checkpoint), zoo.load(fitted_checkpoint)
    assert original.latent_priors == {} and set(fitted.latent_priors) == {"gmm", "two-stage"}
    # the code path before fitted priors existed: decode draws of sample_latent
    before = to_unit_range(original.generate(original.sample_latent(8, torch.Generator().manual_seed(3))))
    for model in (original, fitted):
        assert torch.equal(model.sample(8, seed=3), before)
        assert torch.equal(model.sample(8, seed=3, prior="plain"), before)
    assert torch.equal(fitted.state_dict()["code_mean"], original.state_dict()["code_mean"])


@pytest.mark.parametrize("prior", ["gmm", "two-stage"])
def test_sampling_a_fitted_prior_is_reproducible_and_survives_save_and_load(fitted_checkpoint, prior):
    model = zoo.load(fitted_checkpoint)
    images = model.sample(6, seed=1, prior=prior)
    assert images.shape == (6, 1, 28, 28)
    assert torch.equal(images, model.sample(6, seed=1, prior=prior))
    assert not torch.equal(images, model.sample(6, seed=2, prior=prior))
    assert not torch.equal(images, model.sample(6, seed=1))
    again = zoo.load(fitted_checkpoint)
    assert torch.equal(images, again.sample(6, seed=1, prior=prior))
    stored = torch.load(fitted_checkpoint, weights_only=True)["zoo"]["latent_priors"][prior]
    restored = again.latent_priors[prior].state()
    tensors = (("weights", "means", "covariances") if prior == "gmm" else ())
    for key in tensors:
        assert torch.equal(restored[key], stored[key])
    if prior == "two-stage":
        assert all(torch.equal(restored["state_dict"][k], v) for k, v in stored["state_dict"].items())


def test_an_unknown_or_unfitted_prior_is_refused_naming_the_fitted_ones(ae_checkpoint, fitted_checkpoint):
    with pytest.raises(PriorNotFitted, match=r"not a kind of prior.*plain \(the model's own prior\), gmm, two-stage"):
        zoo.load(fitted_checkpoint).sample(2, prior="gaussian")
    with pytest.raises(PriorNotFitted, match=r"'gmm' is not fitted into this checkpoint.*zoo fit-prior"):
        zoo.load(ae_checkpoint).sample(2, prior="gmm")


# --- the command ----------------------------------------------------------------------------------------------------


def test_fit_prior_then_sample_with_it_in_real_processes(ae_checkpoint, folder):
    fitted = _zoo_process("fit-prior", "--ckpt", str(ae_checkpoint), "--kind", "gmm", "--components", "2",
                          "--images", "40", "--out", "process.ckpt", cwd=folder)
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    assert "to the codes of 40 training images" in fitted.stdout
    sampled = _zoo_process("sample", "--ckpt", "process.ckpt", "--prior", "gmm", "--n", "4", "--out", "gmm.png",
                           cwd=folder)
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    assert "prior gmm" in sampled.stdout and (folder / "gmm.png").stat().st_size > 0
    assert set(torch.load(folder / "process.ckpt", weights_only=True)["zoo"]["latent_priors"]) == {"gmm"}


def test_fit_prior_leaves_the_original_checkpoint_untouched(ae_checkpoint, fitted_checkpoint):
    original = torch.load(ae_checkpoint, weights_only=True)
    fitted = torch.load(fitted_checkpoint, weights_only=True)
    assert "latent_priors" not in original["zoo"]
    assert fitted["zoo"]["latent_priors"]["gmm"]["fitted"]["images"] == 64
    assert all(torch.equal(original["state_dict"][k], v) for k, v in fitted["state_dict"].items())
    assert fitted["optimizer_states"] and fitted["zoo"]["iteration"] == original["zoo"]["iteration"]


def _refused(argv: list[str], *phrases: str) -> str:
    code, message = run_in_process(argv)
    assert code == 1, message
    for phrase in phrases:
        assert phrase in message, message
    assert "fix:" in message
    return message


def test_fit_prior_refuses_an_existing_or_unwritable_out_before_any_work(ae_checkpoint, fitted_checkpoint, folder):
    stamp = fitted_checkpoint.stat().st_mtime_ns
    _refused(["fit-prior", "--ckpt", str(ae_checkpoint), "--kind", "gmm", "--out", str(fitted_checkpoint)],
             "exists", "--force")
    assert fitted_checkpoint.stat().st_mtime_ns == stamp
    _refused(["fit-prior", "--ckpt", str(ae_checkpoint), "--kind", "gmm", "--out",
              str(fitted_checkpoint / "new.ckpt")], "cannot write", "Nothing was computed")
    _refused(["fit-prior", "--ckpt", str(ae_checkpoint), "--kind", "gmm", "--force", "--out", str(ae_checkpoint)],
             "one of the inputs")


def test_fit_prior_refuses_a_model_without_an_encoder(folder):
    model = zoo.create("gan", latent_dim=4)
    path = folder / "gan.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, path)
    _refused(["fit-prior", "--ckpt", str(path), "--kind", "gmm", "--out", str(folder / "gan_gmm.ckpt")],
             "GAN: it has no encoder", "models that have them: ")
    assert not (folder / "gan_gmm.ckpt").exists()


def test_sample_refuses_unknown_and_unfitted_priors_and_modes_without_prior_draws(ae_checkpoint, fitted_checkpoint,
                                                                                  folder):
    out = str(folder / "refused.png")
    _refused(["sample", "--ckpt", str(fitted_checkpoint), "--prior", "flow", "--out", out], "not a kind of prior",
             "gmm, two-stage")
    _refused(["sample", "--ckpt", str(ae_checkpoint), "--prior", "two-stage", "--out", out],
             "not fitted into this checkpoint", "zoo fit-prior --ckpt CKPT --kind two-stage")
    _refused(["sample", "--ckpt", str(fitted_checkpoint), "--prior", "gmm", "--mode", "reconstruct", "--out", out],
             "--prior applies to --mode plain, interpolate, neighbours")
    code, message = run_in_process(["sample", "--ckpt", str(fitted_checkpoint), "--prior", "two-stage", "--mode",
                                    "interpolate", "--n", "2", "--steps", "3", "--out", out])
    assert code == 0, message


# --- resuming ---------------------------------------------------------------------------------------------------


def test_resuming_from_a_checkpoint_with_fitted_priors_keeps_them_bit_for_bit(fitted_checkpoint, folder):
    stored = torch.load(fitted_checkpoint, weights_only=True)["zoo"]["latent_priors"]
    model = zoo.create("ae", latent_dim=4, **TINY_NETS)
    trainer = tiny_trainer(folder / "resumed", max_steps=6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, datamodule=synthetic_data(num_images=80, batch_size=16), ckpt_path=fitted_checkpoint)
    assert any("latent priors fitted to its codes" in str(w.message) for w in caught)
    assert model.iteration == 6
    trainer.save_checkpoint(folder / "resumed.ckpt")
    resumed = torch.load(folder / "resumed.ckpt", weights_only=True)["zoo"]["latent_priors"]
    assert set(resumed) == set(stored) == {"gmm", "two-stage"}
    for key in ("weights", "means", "covariances"):
        assert torch.equal(resumed["gmm"][key], stored["gmm"][key])
    assert resumed["gmm"]["fitted"] == stored["gmm"]["fitted"]
    assert all(torch.equal(resumed["two-stage"]["state_dict"][k], v)
               for k, v in stored["two-stage"]["state_dict"].items())
