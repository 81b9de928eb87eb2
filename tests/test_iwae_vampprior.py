"""IWAE (Burda et al. 2016) and the VampPrior (Tomczak & Welling 2018): the k-sample bound and the mixture prior
against their definitions, the NLL under the model's own prior, refusals, and a short real-data learning check."""

import math

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch import seed_everything
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

import zoo
import zoo.models.vamp_vae as vamp_module
from tests.conftest import fashion_mnist, needs_fashion_mnist, tiny_trainer
from zoo.arguments import InvalidArgument
from zoo.core.variational import VariationalModel, log_mean_exp
from zoo.metrics.likelihood import importance_sampled_nll
from zoo.models.iwae import IWAE
from zoo.models.vamp_vae import VampVAE

pytestmark = pytest.mark.usefixtures("one_thread")

SHAPE = (1, 4, 4)


class Linear(nn.Module):
    """A linear net between flat vectors and images: a tiny encoder ``(image_shape, out)`` or decoder
    ``(latent_dim, image_shape)``, so that thousands of importance samples cost nothing."""

    def __init__(self, inputs, outputs) -> None:
        super().__init__()
        self.out_shape = tuple(outputs) if isinstance(outputs, tuple) else (outputs,)
        self.net = nn.Linear(math.prod(inputs) if isinstance(inputs, tuple) else inputs, math.prod(self.out_shape))

    def forward(self, x):
        return self.net(x.flatten(1)).view(-1, *self.out_shape)


def tiny(cls, **kwargs):
    torch.manual_seed(0)
    return cls(image_shape=SHAPE, latent_dim=3, encoder=Linear, decoder=Linear, **kwargs).eval()


def images(n: int = 8) -> torch.Tensor:
    torch.manual_seed(1)
    return (torch.rand(n, *SHAPE) < 0.4).float() * 2 - 1  # binary images in [-1, 1]


# --- the IWAE bound ----------------------------------------------------------------------------------------------


@torch.no_grad()
def test_iwae_bound_is_above_the_elbo_and_tightens_with_k():
    """E[L_1] = ELBO <= E[L_5] <= E[L_50] (Burda et al. 2016, Theorem 1), each gap more than 6 standard errors over
    2000 independent estimates of the batch's mean bound."""
    model, x = tiny(IWAE), images()
    params = model.encode(x)
    target = (x + 1) / 2
    repeats = 2000
    torch.manual_seed(2)
    log_w = model.log_weights(target, params, model.posterior_samples(params, repeats * 50)).total  # (B, R·50)
    bound = {k: log_mean_exp(log_w.view(len(x), -1, k), dim=2).mean(0) for k in (1, 5, 50)}  # (R·50/k,) each
    per_repeat = {k: b.view(repeats, -1).mean(1) for k, b in bound.items()}  # (R,): the mean of 50/k estimates
    # the ELBO with the closed-form KL, its expected reconstruction term over all the draws
    parts = model.log_weights(target, params, model.posterior_samples(params, 20000))
    elbo = (parts.log_px_z.mean(1) - model.kl_divergence(params)).mean()
    elbo_se = parts.log_px_z.mean(0).std() / math.sqrt(20000)
    assert abs(per_repeat[1].mean() - elbo) < 4 * math.hypot(elbo_se, per_repeat[1].std() / math.sqrt(repeats))
    for low, high in ((1, 5), (5, 50)):
        gain = per_repeat[high] - per_repeat[low]  # paired: the same draws
        assert gain.mean() > 6 * gain.std() / math.sqrt(repeats), (low, high, gain.mean(), gain.std())
    assert per_repeat[50].mean() > elbo


def test_iwae_with_one_sample_is_the_elbo_of_its_draw():
    """At k = 1 the bound is the ELBO of the one draw: the logged niwae equals nelbo (the training loss has the
    VAE's expectation), and the model's validation terms are the VAE's with niwae beside them."""
    model, x = tiny(IWAE, num_samples=1), images()
    terms = model.iwae_terms(x)
    assert torch.allclose(terms["niwae"], terms["nelbo"], rtol=0, atol=1e-4), terms
    assert terms["loss"] is terms["niwae"]
    assert set(model.evaluate(x)) == {"nelbo", "recon", "kl", "recon_mse", "niwae"}


def test_iwae_logged_bound_never_exceeds_its_elbo():
    """On every batch niwae <= nelbo: -log mean exp(log w) <= -mean(log w) over the same k draws (Jensen)."""
    model, x = tiny(IWAE, num_samples=5), images(32)
    for seed in range(5):
        torch.manual_seed(seed)
        terms = model.iwae_terms(x)
        assert terms["niwae"] <= terms["nelbo"] + 1e-5
        assert torch.allclose(terms["nelbo"], terms["recon"] + terms["kl"])


def test_iwae_trains_on_the_bound_and_its_log_weights_are_the_nll_s():
    """The loss is the k-sample bound computed by the same log weights that zoo evaluate's NLL averages: with the
    same draws, the NLL at k equals the training loss at k."""
    model, x = tiny(IWAE, num_samples=7), images()
    torch.manual_seed(3)
    loss = model.iwae_terms(x)["loss"]
    torch.manual_seed(3)
    nll = importance_sampled_nll(model, x, k=7)
    assert torch.allclose(loss, nll.mean(), atol=1e-4)


# --- the VampPrior -----------------------------------------------------------------------------------------------


def brute_force_prior(model: VampVAE) -> MixtureSameFamily:
    """``(1/K) Σ_k q(z | u_k)`` built with torch.distributions from the encoder and the clamped pseudo-inputs."""
    mu, logvar = model.encoder(torch.clamp(model.pseudo_pixels, -1, 1)).chunk(2, dim=1)
    components = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    return MixtureSameFamily(Categorical(logits=torch.zeros(len(mu))), components)


@pytest.mark.parametrize("chunk_elements", [vamp_module.ELEMENTS_PER_CHUNK, 7])
@torch.no_grad()
def test_vamp_prior_log_density_is_the_mixture_of_pseudo_input_posteriors(chunk_elements, monkeypatch):
    monkeypatch.setattr(vamp_module, "ELEMENTS_PER_CHUNK", chunk_elements)  # 7: one latent per chunk
    model = tiny(VampVAE, pseudo_inputs=5, pseudo_input_std=0.5)
    torch.manual_seed(4)
    z = torch.randn(2, 6, 3) * 2
    expected = brute_force_prior(model).log_prob(z)
    assert model.log_prior(z).shape == (2, 6)
    assert torch.allclose(model.log_prior(z), expected, atol=1e-5)
    assert not torch.allclose(expected, VariationalModel.log_prior(model, z), atol=0.1)  # not N(0, I)


@torch.no_grad()
def test_vamp_prior_samples_come_from_the_mixture():
    """sample_latent draws a component uniformly then z from it: the samples' mean and covariance are the mixture's,
    and a seed reproduces them."""
    model = tiny(VampVAE, pseudo_inputs=4, pseudo_input_std=0.5)
    z = model.sample_latent(40000, torch.Generator().manual_seed(0))
    prior = brute_force_prior(model)
    assert torch.allclose(z.mean(0), prior.mean, atol=0.05), (z.mean(0), prior.mean)
    assert torch.allclose(z.var(0), prior.variance, rtol=0.05, atol=0.01)
    assert torch.equal(model.sample_latent(5, torch.Generator().manual_seed(1)),
                       model.sample_latent(5, torch.Generator().manual_seed(1)))


@torch.no_grad()
def test_vamp_vae_nll_is_scored_under_the_vamp_prior():
    """zoo evaluate's NLL of a VampPrior model equals the importance-sampled bound written out with the mixture prior,
    and differs from the one under N(0, I)."""
    model, x = tiny(VampVAE, pseudo_inputs=6, pseudo_input_std=0.5), images(5)
    k, chunk = 40, 16
    torch.manual_seed(5)
    nll = importance_sampled_nll(model, x, k=k, chunk=chunk)
    torch.manual_seed(5)  # the same draws, chunk by chunk
    mu, logvar = model.encoder(x).chunk(2, dim=1)
    std = torch.exp(0.5 * logvar)
    z = torch.cat([mu[:, None] + std[:, None] * torch.randn(len(x), n, 3) for n in (16, 16, 8)], dim=1)  # (B, k, D)
    logits = model.decoder(z.flatten(0, 1)).view(len(x), k, -1)
    target = ((x + 1) / 2).flatten(1)[:, None].expand_as(logits)
    log_px_z = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
    log_qz = Normal(mu[:, None], std[:, None]).log_prob(z).sum(-1)
    vamp = -(torch.logsumexp(log_px_z + brute_force_prior(model).log_prob(z) - log_qz, 1) - math.log(k))
    standard = -(torch.logsumexp(log_px_z + Normal(0.0, 1.0).log_prob(z).sum(-1) - log_qz, 1) - math.log(k))
    assert torch.allclose(nll, vamp, atol=1e-3), (nll, vamp)
    assert (nll - standard).abs().mean() > 0.1, (nll, standard)


def test_vamp_vae_kl_is_the_single_sample_estimate_and_pseudo_inputs_learn():
    model = tiny(VampVAE, pseudo_inputs=3).train()
    x = images()
    torch.manual_seed(6)
    terms = model.elbo_terms(x)
    torch.manual_seed(6)
    params = model.encode(x)
    z = model.posterior_sample(params)
    expected = (Normal(params[0], torch.exp(0.5 * params[1])).log_prob(z).sum(-1)
                - brute_force_prior(model).log_prob(z)).mean()
    assert torch.allclose(terms["kl"], expected, atol=1e-4)
    terms["loss"].backward()
    assert model.pseudo_pixels.grad is not None and model.pseudo_pixels.grad.abs().sum() > 0
    assert any(p is model.pseudo_pixels for p in model.players()["vae"][0])  # stepped by the VAE's optimiser


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, argument", [(IWAE, "num_samples"), (VampVAE, "pseudo_inputs")])
@pytest.mark.parametrize("value", [0, -3])
def test_a_count_below_one_is_refused_before_any_net_is_built(cls, argument, value):
    built = []

    def spy(*args):
        built.append(args)
        return Linear(*args)

    with pytest.raises(InvalidArgument, match=rf"{argument} must be >= 1, got {value}"):
        cls(image_shape=SHAPE, latent_dim=3, encoder=spy, decoder=spy, **{argument: value})
    assert not built


def test_vamp_vae_refuses_a_batch_norm_encoder_and_names_the_fix():
    with pytest.raises(InvalidArgument, match=r"batch norm.*norm: layer"):
        zoo.create("vamp_vae", encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"norm": "batch"}})
    zoo.create("vamp_vae", encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"norm": "layer"}})


# --- learning on real data ---------------------------------------------------------------------------------------


def _validate(model, data) -> dict[str, float]:
    results = tiny_trainer(".", limit_val_batches=1.0).validate(model, datamodule=data, verbose=False)[0]
    return {k: float(v) for k, v in results.items()}


SMALL = {"encoder": {"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 16}},
         "decoder": {"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 16}}}


@pytest.mark.slow
@pytest.mark.ci
@needs_fashion_mnist
@pytest.mark.parametrize("name, settings", [
    ("iwae", {**SMALL, "num_samples": 5}),
    ("vamp_vae", {**SMALL, "pseudo_inputs": 50,
                  "encoder": {"class_path": "zoo.nets.ConvEncoder",
                              "init_args": {"base_channels": 16, "norm": "layer"}}}),
])
def test_loss_falls_on_fashion_mnist(name, settings, tmp_path):
    """100 batches of 64 real images: the held-out training objective (the IWAE's bound, the VampPrior's -ELBO)
    falls well below the untrained model's and the posterior carries information. The IWAE's ELBO falls less: early
    on its posterior is broader than the decoder likes (one of 5 good draws is enough for the bound)."""
    seed_everything(0)
    data = fashion_mnist(batch_size=64, train_subset=2048, val_size=256)
    model = zoo.create(name, latent_dim=8, **settings)
    pseudo_before = model.pseudo_pixels.detach().clone() if name == "vamp_vae" else None
    before = _validate(model, data)
    tiny_trainer(tmp_path, max_steps=100).fit(model, datamodule=data)
    after = _validate(model, data)
    objective = "val/niwae" if name == "iwae" else "val/nelbo"
    assert after[objective] < 0.6 * before[objective], (before, after)
    assert after["val/kl"] > 1.0, "posterior collapsed: the encoder carries no information"
    if name == "iwae":
        assert after["val/nelbo"] < 0.85 * before["val/nelbo"] and after["val/niwae"] <= after["val/nelbo"], after
    else:
        assert not torch.equal(model.pseudo_pixels.detach(), pseudo_before), "the pseudo-inputs did not learn"
