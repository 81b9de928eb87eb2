"""Slow: every model of the adversarial family learns real Fashion-MNIST at a CI budget.

Each model trains a few hundred batches (about 20-40 s on 2 free CPU cores) with small DCGAN-style nets, then the
shipped Fashion-MNIST classifier sorts 1000 samples: they must spread over at least 8 of the 10 classes, where the
untrained generator's samples all land in one or two. The CI budget changes schedules, not losses: higher learning rates and
fewer critic steps than the papers' (which need tens of thousands of generator steps), noted per model below.
"""

import pytest
import torch
from lightning.pytorch import seed_everything

import zoo
from tests.conftest import fashion_mnist, needs_fashion_mnist, tiny_trainer
from zoo.metrics.classifier import classes_covered, load_classifier

pytestmark = [pytest.mark.slow, pytest.mark.ci, needs_fashion_mnist]


def _nets(generator: int, discriminator: int, kind: str = "DCGANDiscriminator") -> dict:
    return {
        "generator": {"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": generator}},
        "discriminator": {"class_path": f"zoo.nets.{kind}", "init_args": {"base_channels": discriminator}},
    }


def _adam(lr: float, beta1: float, beta2: float) -> dict:
    return {"class_path": "torch.optim.Adam", "init_args": {"lr": lr, "betas": [beta1, beta2]}}


def _rmsprop(lr: float) -> dict:
    return {"class_path": "torch.optim.RMSprop", "init_args": {"lr": lr}}


def _optimizers(factory: dict) -> dict:
    return {"g_optimizer": factory, "d_optimizer": factory}


CASES = {  # name: (training batches, init args)
    # clipping c = 0.01 as in the paper; RMSprop 5e-4 (paper 5e-5) and n_critic = 2 (paper 5, with 100-step critic
    # phases early on) to fit the budget
    "wgan": (500, dict(**_nets(32, 32), n_critic=2, warmup_n_critic=2, **_optimizers(_rmsprop(5e-4)))),
    # λ = 10 and a layer-norm critic as in the paper; Adam(5e-4, (0.5, 0.9)) and n_critic = 2 (paper 1e-4, 5; at
    # 2e-4 the samples stayed on 7-8 classes for 900 batches)
    "wgangp": (700, dict(**_nets(32, 32, "DCGANCritic"), n_critic=2, **_optimizers(_adam(5e-4, 0.5, 0.9)))),
    # Pearson χ² with the paper's non-saturating generator; Adam 5e-4
    "fgan": (500, dict(**_nets(32, 32), divergence="pearson", **_optimizers(_adam(5e-4, 0.5, 0.999)))),
    # λ = 10 on f; codes of 64 (paper 256); Adam(2e-4, (0.5, 0.9)) and n_critic = 2
    "cramergan": (300, dict(**_nets(32, 32, "DCGANCritic"), code_dim=64, n_critic=2,
                            **_optimizers(_adam(2e-4, 0.5, 0.9)))),
    # pull-away weight 0.1 and Adam(2e-4, beta1 0.5) as in the config; margin 0.3 (config 1.0) learned faster here
    "ebgan": (800, dict(**_nets(32, 16, "AutoencoderDiscriminator"), margin=0.3)),
    # L1 autoencoder and the k_t controller; γ = 0.9 as in the Fashion-MNIST config (paper 0.3-0.7: at 0.7 it
    # covered 8 classes in 500-900 steps, at 0.9 all 10 in 700), λ_k = 0.01 (paper 0.001: k would barely leave 0 in
    # 700 steps), Adam 5e-4 (paper 1e-4), a 32-d code (paper 64)
    "began": (700, dict(**_nets(32, 16, "AutoencoderDiscriminator"), code_dim=32, gamma=0.9, lambda_k=0.01,
                        **_optimizers(_adam(5e-4, 0.5, 0.999)))),
    # hinge loss and spectral norm on a discriminator without normalisation layers and with torch's initialisation,
    # n_dis = 1 and Adam(2e-4, (0.5, 0.999)), as in the config (betas (0, 0.9) of the paper's CIFAR-10 setting
    # covered 6-7 classes over 300-900 batches here)
    "sngan": (700, dict(**_nets(32, 32, "UnnormalisedDCGANDiscriminator"), n_critic=1,
                        **_optimizers(_adam(2e-4, 0.5, 0.999)))),
    # the paper's 0-1 coding and DCGAN's Adam(2e-4, beta1 0.5), as in the config
    "lsgan": (600, dict(**_nets(32, 32), **_optimizers(_adam(2e-4, 0.5, 0.999)))),
    # λ = 10 and a layer-norm discriminator as in the config; Adam 5e-4 (config 2e-4: 4-8 classes over 200-800
    # batches here; 5e-4 covers 8 at every hundred from 600 to 1000)
    "dragan": (700, dict(**_nets(32, 32, "DCGANCritic"), **_optimizers(_adam(5e-4, 0.5, 0.999)))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_learns_to_cover_the_fashion_mnist_classes(name, tmp_path):
    iterations, init_args = CASES[name]
    seed_everything(0)
    model = zoo.create(name, image_shape=(1, 28, 28), **init_args)
    classifier = load_classifier("fashion_mnist")
    untrained = classes_covered(model.sample(1000, seed=0) * 2 - 1, classifier)

    optimizer_steps = model.optimizer_steps(iterations)
    trainer = tiny_trainer(tmp_path, max_steps=optimizer_steps, max_epochs=-1)
    trainer.fit(model, datamodule=fashion_mnist(batch_size=64))

    assert model.iteration == iterations
    assert all(torch.isfinite(p).all() for p in model.parameters()), "a weight became NaN or infinite"
    covered = classes_covered(model.sample(1000, seed=0) * 2 - 1, classifier)
    # 10 is every class; a collapsed generator (or an untrained one) covers 1-3.
    assert covered >= 8 and covered >= untrained + 5, f"{name}: {untrained} classes untrained, {covered} trained"
