"""The GAN game's ``loss`` choice (logistic, hinge, least squares) and the models built on it: SNGAN, LSGAN and
DRAGAN (fast, on tiny nets and synthetic data; the losses' closed forms are in tests/test_losses_adversarial.py)."""

import pytest
import torch

import zoo
from tests.conftest import synthetic_data, tiny_trainer
from zoo.arguments import InvalidArgument
from zoo.losses.critics import dragan_penalty
from zoo.losses.gan import (
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_generator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(
    latent_dim=8,
    generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
    discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
)
TINY_CRITIC = {**TINY, "discriminator": {"class_path": "zoo.nets.DCGANCritic", "init_args": {"base_channels": 8}}}


def _scores(model, real, fake):
    with torch.no_grad():
        return model.discriminator(real), model.discriminator(fake)


@pytest.mark.parametrize("loss, extra", [
    ("logistic", {"real_label": 0.9, "generator_objective": "minimax"}),
    ("hinge", {}),
    ("least_squares", {"least_squares_coding": (-1.0, 1.0, 0.0)}),
])
def test_the_loss_choice_plays_its_losses_on_the_discriminators_raw_output(loss, extra):
    torch.manual_seed(0)
    model = zoo.create("dcgan", image_shape=(1, 28, 28), loss=loss, **extra, **TINY).eval()  # batch norm: per image
    real, fake = torch.rand(6, 1, 28, 28) * 2 - 1, torch.rand(6, 1, 28, 28) * 2 - 1
    d_real, d_fake = _scores(model, real, fake)
    expected = {
        "logistic": (gan_discriminator_loss(d_real, d_fake, 0.9), gan_generator_loss(d_fake, "minimax")),
        "hinge": (hinge_discriminator_loss(d_real, d_fake), hinge_generator_loss(d_fake)),
        "least_squares": (least_squares_discriminator_loss(d_real, d_fake, -1.0, 1.0),
                          least_squares_generator_loss(d_fake, 0.0)),
    }[loss]
    terms = model.discriminator_loss(real, {"fake": fake})
    assert terms["loss"].item() == pytest.approx(expected[0].item(), rel=1e-6)
    assert model.generator_loss(real, {"fake": fake})["loss"].item() == pytest.approx(expected[1].item(), rel=1e-6)
    # the decision threshold is 0 here: (a + b)/2 = 0 for the (-1, 1, 0) coding too
    assert terms["accuracy"].item() == pytest.approx(discriminator_accuracy(d_real, d_fake).item())
    logged = {"real_prob", "fake_prob"} if loss == "logistic" else {"real_score", "fake_score"}
    assert set(terms) == {"loss", "accuracy"} | logged


def test_least_squares_accuracy_splits_at_the_midpoint_of_its_targets():
    model = zoo.create("lsgan", image_shape=(1, 28, 28), **TINY)  # a = 0, b = 1: real if D > 0.5
    terms = model.discriminator_terms(torch.tensor([[0.7], [0.4]]), torch.tensor([[0.2], [0.6]]))
    assert terms["accuracy"].item() == pytest.approx(0.5)


@pytest.mark.parametrize("name, kwargs", [("sngan", {}), ("lsgan", {"least_squares_coding": [-1, 1, 0]}),
                                          ("dragan", {"loss": "hinge"})])
def test_each_model_and_loss_trains_and_round_trips_its_checkpoint(name, kwargs, tmp_path):
    torch.manual_seed(0)
    nets = TINY_CRITIC if name == "dragan" else TINY
    model = zoo.create(name, image_shape=(1, 28, 28), n_critic=1, **kwargs, **nets)
    trainer = tiny_trainer(tmp_path, max_steps=model.optimizer_steps(3), max_epochs=-1, log_every_n_steps=1)
    trainer.fit(model, datamodule=synthetic_data())
    assert all(torch.isfinite(v) for v in trainer.logged_metrics.values())
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = zoo.load(tmp_path / "m.ckpt")
    assert (loaded.loss, loaded.least_squares_coding) == (model.loss, model.least_squares_coding)
    assert torch.equal(loaded.sample(3, seed=0), model.sample(3, seed=0))


@pytest.mark.parametrize("name, kwargs, names", [
    ("gan", {"loss": "hinje"}, "loss: unknown loss 'hinje'.*Did you mean 'hinge'"),
    ("lsgan", {"least_squares_coding": (1.0, 1.0, 1.0)}, "least_squares_coding.*needs a < b"),
    ("lsgan", {"least_squares_coding": (1.0, 0.0, 1.0)}, "least_squares_coding.*needs a < b"),
    ("lsgan", {"least_squares_coding": (0.0, float("nan"), 1.0)}, "least_squares_coding must be three finite"),
    ("lsgan", {"loss": "hinge"}, "loss: LSGAN is the least-squares game"),
    ("sngan", {"generator_objective": "minimax"}, "generator_objective and real_label set the logistic loss"),
    ("lsgan", {"real_label": 0.9}, "generator_objective and real_label set the logistic loss"),
    ("dcgan", {"least_squares_coding": (-1.0, 1.0, 0.0)}, "least_squares_coding sets the least-squares loss"),
])
def test_arguments_that_do_not_fit_the_loss_are_refused_by_name(name, kwargs, names):
    with pytest.raises(InvalidArgument, match=names):
        zoo.create(name, image_shape=(1, 28, 28), **kwargs)


def test_dragan_adds_the_weighted_penalty_at_perturbed_real_images():
    torch.manual_seed(0)
    model = zoo.create("dragan", image_shape=(1, 28, 28), gp_weight=3.0, **TINY_CRITIC)
    real, fake = torch.rand(6, 1, 28, 28) * 2 - 1, torch.rand(6, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    terms = model.discriminator_loss(real, {"fake": fake})
    torch.manual_seed(1)
    penalty = dragan_penalty(model.discriminator, real)
    plain = gan_discriminator_loss(*_scores(model, real, fake))
    assert terms["gradient_penalty"].item() == pytest.approx(penalty.item(), rel=1e-5)
    assert terms["loss"].item() == pytest.approx(plain.item() + 3.0 * penalty.item(), rel=1e-5)
