"""The autoencoding and hybrid family: what the registry-driven tests do not reach (variants, schedules, pictures)."""

import math

import pytest
import torch
from PIL import Image

import zoo
from tests.conftest import synthetic_data, tiny_trainer
from zoo.callbacks import LatentManifold

ENCODER_MODELS = [e.name for e in zoo.list_models() if hasattr(e.cls, "reconstruct") and hasattr(e.cls, "encode")]
TINY_NETS = {
    "encoder": {"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
    "decoder": {"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 8}},
}


def _fit(model, tmp_path, iterations, **trainer_args):
    steps = model.optimizer_steps(iterations)
    trainer = tiny_trainer(tmp_path, max_steps=steps, max_epochs=-1, **trainer_args)
    trainer.fit(model, datamodule=synthetic_data())
    return trainer


def test_the_family_is_registered_with_encoders():
    family = {"ae", "dae", "aae", "wae", "gumbel_vae", "avb", "vaegan", "bigan", "ali", "alpha_gan", "veegan"}
    assert family <= set(ENCODER_MODELS)


@pytest.mark.parametrize("name", ENCODER_MODELS)
def test_encoder_models_encode_and_reconstruct_in_pixel_range(name):
    model = zoo.create(name, image_shape=(1, 28, 28)).eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    condition = (torch.tensor([0, 4, 9]),) if model.conditional else ()  # a conditional encoder's labels
    recon = model.reconstruct(x, *condition)
    assert recon.shape == x.shape and recon.min() >= -1 and recon.max() <= 1
    code = model.encode(x, *condition)
    code = code[0] if isinstance(code, tuple) else code  # Gaussian encoders give (mu, logvar)
    assert code.shape[0] == 3 and torch.isfinite(code).all()


@pytest.mark.parametrize(
    "prior", [None, {"class_path": "zoo.core.priors.MixtureOfGaussians", "init_args": {"components": 4}}]
)
@pytest.mark.parametrize("name", ["aae", "wae"])
def test_latent_adversary_variants_fit_and_round_trip(name, prior, tmp_path):
    torch.manual_seed(0)
    extra = {"divergence": "gan"} if name == "wae" else {}
    model = zoo.create(name, image_shape=(1, 28, 28), latent_dim=2, **TINY_NETS, **extra,
                       **({"prior": prior} if prior else {}))
    assert "d" in model.players()
    trainer = _fit(model, tmp_path, 3)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = zoo.load(tmp_path / "m.ckpt")
    assert type(loaded.prior) is type(model.prior)
    assert torch.equal(loaded.sample(4, seed=0), model.sample(4, seed=0))
    if prior:  # samples decode the mixture: latents drawn from its components
        z = model.sample_latent(2000, torch.Generator().manual_seed(0))
        assert z.norm(dim=1).mean().item() == pytest.approx(4.0, abs=0.2)


def test_wae_mmd_has_one_player_and_logs_its_penalty(tmp_path):
    model = zoo.create("wae", image_shape=(1, 28, 28), **TINY_NETS)
    assert list(model.players()) == ["ae"] and model.discriminator is None
    trainer = _fit(model, tmp_path, 2, limit_val_batches=1)
    assert {"train/ae/penalty", "train/ae/recon"} <= set(trainer.logged_metrics)
    assert {"val/mmd", "val/recon", "val/recon_mse"} <= set(trainer.validate(model, synthetic_data(), verbose=False)[0])


def test_gumbel_vae_anneals_its_temperature_and_samples_one_hot_codes():
    model = zoo.create("gumbel_vae", image_shape=(1, 28, 28), num_latents=3, categories=4, temperature=2.0,
                       min_temperature=0.5, anneal_rate=1e-3)
    assert model.latent_dim == 12
    assert model.temperature == pytest.approx(2.0)
    model.iteration = 500
    assert model.temperature == pytest.approx(2.0 * math.exp(-0.5))
    model.iteration = 10_000
    assert model.temperature == pytest.approx(0.5)  # floored at min_temperature
    codes = model.sample_latent(7, torch.Generator().manual_seed(0)).view(7, 3, 4)
    assert codes.sum(-1).eq(1).all() and set(codes.unique().tolist()) == {0.0, 1.0}
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    logits = model.encode(x)
    assert logits.shape == (5, 3, 4)
    model.train()
    soft = model.posterior_sample(logits).view(5, 3, 4)
    assert not set(soft.detach().unique().tolist()) <= {0.0, 1.0}  # relaxed in training
    model.eval()
    hard = model.posterior_sample(logits).view(5, 3, 4)
    assert hard.sum(-1).eq(1).all() and set(hard.unique().tolist()) == {0.0, 1.0}  # exact in evaluation
    terms = model.evaluate(x)
    assert torch.isfinite(terms["nelbo"]) and terms["kl"] <= 3 * math.log(4) + 1e-4


def test_autoencoder_samples_from_a_gaussian_fitted_to_its_codes():
    model = zoo.create("ae", image_shape=(1, 28, 28), latent_dim=2, code_momentum=0.5)
    torch.manual_seed(0)
    scale = torch.tensor([[2.0, 0.0], [1.0, 0.5]])
    for _ in range(30):  # codes ~ N((3, -1), scale scaleᵀ)
        model.track_codes(torch.randn(4096, 2) @ scale.T + torch.tensor([3.0, -1.0]))
    z = model.sample_latent(20_000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(0), torch.tensor([3.0, -1.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(torch.cov(z.T), scale @ scale.T, atol=0.08, rtol=0)


def test_denoising_autoencoder_corrupts_only_its_inputs():
    model = zoo.create("dae", image_shape=(1, 28, 28), noise="salt_and_pepper", noise_level=0.5)
    x = torch.zeros(2, 1, 28, 28)
    assert (model.corrupt_inputs(x) != x).float().mean() == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="noise type"):
        zoo.create("dae", image_shape=(1, 28, 28), noise="blur")


def test_models_with_intermediate_bases_keep_only_their_own_hyperparameters():
    model = zoo.create("avb", image_shape=(1, 28, 28))
    assert "beta" not in model.hparams  # VariationalModel's argument, not AVB's
    model = zoo.create("gumbel_vae", image_shape=(1, 28, 28))
    assert "latent_dim" not in model.hparams and "num_latents" in model.hparams


def test_hybrid_players_group_the_nets_each_paper_trains_together():
    bigan = zoo.create("bigan", image_shape=(1, 28, 28))
    assert list(bigan.players()) == ["d", "g"] and bigan.players()["g"][0] == [bigan.generator, bigan.encoder]
    vaegan = zoo.create("vaegan", image_shape=(1, 28, 28))
    assert [u.player for u in vaegan.updates()] == ["d", "g", "e"]
    alpha = zoo.create("alpha_gan", image_shape=(1, 28, 28))
    assert [u.player for u in alpha.updates()] == ["d", "c", "g", "e"]
    ali = zoo.create("ali", image_shape=(1, 28, 28)).eval()
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert torch.equal(ali.encode(x), ali.encode(x)) and not torch.equal(ali.encode_sample(x), ali.encode_sample(x))


def test_avb_estimates_the_kl_with_its_adversary_and_reconstructs_deterministically():
    torch.manual_seed(0)
    model = zoo.create("avb", image_shape=(1, 28, 28)).eval()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert not torch.equal(model.encode(x), model.encode(x))  # an implicit, noisy posterior
    assert torch.equal(model.reconstruct(x), model.reconstruct(x))
    z = model.encode(x)
    terms = model.elbo_terms(x, z)
    torch.testing.assert_close(terms["kl"], model.adversary(x, z).mean())
    torch.testing.assert_close(terms["nelbo"], terms["recon"] + terms["kl"])


@pytest.mark.parametrize("latent_dim", [2, 3])
def test_manifold_callback_writes_a_grid_for_2d_latents_only(latent_dim, tmp_path):
    model = zoo.create("vae", image_shape=(1, 28, 28), latent_dim=latent_dim, **TINY_NETS)
    callback = LatentManifold(n=5)
    _fit(model, tmp_path, 2, callbacks=[callback])
    path = tmp_path / "images" / "manifold.png"
    assert path.exists() == (latent_dim == 2)
    if latent_dim == 2:
        assert Image.open(path).size == (5 * 28, 5 * 28)


def test_autoencoder_tracks_its_codes_in_float32_under_bf16_mixed(tmp_path):
    model = zoo.create("ae", image_shape=(1, 28, 28), latent_dim=4, **TINY_NETS)
    _fit(model, tmp_path, 2, precision="bf16-mixed")
    assert int(model.code_batches) == 2
    assert model.code_covariance.dtype == torch.float32 and torch.isfinite(model.code_covariance).all()
    assert not torch.equal(model.code_covariance, torch.eye(4))  # it moved off its initial value
