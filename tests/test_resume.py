"""Resume parity: 2N iterations in one run equal N iterations, a checkpoint, and N more after resuming."""

import pytest
import torch
from lightning.pytorch import seed_everything

import zoo
from tests.conftest import synthetic_data, tiny_trainer

CASES = {
    # dropout in D and a fresh z every step: both draw from the global RNG, which the checkpoint must carry.
    "gan": dict(discriminator={"class_path": "zoo.nets.MLPDiscriminator", "init_args": {"dropout": 0.3}}),
    "dcgan": dict(
        n_critic=2,
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
    ),
    "vae": dict(),  # reparameterisation noise
    # interpolates' epsilon and a generator EMA and historical averages, all buffers that must survive a resume
    "wgangp": dict(
        n_critic=2,
        techniques={"ema_decay": 0.9, "historical_averaging": 0.01},
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.DCGANCritic", "init_args": {"base_channels": 8}},
    ),
    # codes drawn with randint and rand beside the noise: every draw must continue after a resume
    "infogan": dict(
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
    ),
    # spectral normalisation's power-iteration vectors u, v are buffers that every training forward pass updates,
    # in D, in G and (copied) in G's EMA
    "sngan": dict(
        n_critic=2,
        techniques={"ema_decay": 0.9, "generator_spectral_norm": True},
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.UnnormalisedDCGANDiscriminator", "init_args": {"base_channels": 8}},
    ),
    # the perturbation around the data draws u per pixel and alpha per image
    "dragan": dict(
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.DCGANCritic", "init_args": {"base_channels": 8}},
    ),
    # conditional, one class per image: the batch's labels reach G and D; conditional batch norm's running
    # statistics, spectral normalisation's vectors (the projection's class embedding too) continue after a resume
    "cgan_pd": dict(
        n_critic=2,
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.UnnormalisedDCGANDiscriminator", "init_args": {"base_channels": 8}},
    ),
    # the auxiliary classifier's class terms in both players' losses
    "acgan": dict(
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
    ),
    # conditional on binary attributes (CelebA's kind of label): the attribute counts are buffers
    "cvae": dict(num_classes=6, label_kind="attributes",
                 encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
                 decoder={"class_path": "zoo.nets.ConvDecoder", "init_args": {"base_channels": 8}}),
    # the control variable k_t is a buffer (a large gain so that it moves visibly in 12 iterations)
    "began": dict(
        lambda_k=0.05,
        generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
        discriminator={"class_path": "zoo.nets.AutoencoderDiscriminator", "init_args": {"base_channels": 8}},
    ),
}


DATA = {"cvae": dict(attributes=True)}
"""Data settings of a case (default: the synthetic bars, one class per image)."""


def _run(tmp_path, name, iterations, resume_from=None, save_to=None):
    seed_everything(0)
    model = zoo.create(name, image_shape=(1, 28, 28), **CASES[name])
    # Lightning's max_steps counts optimiser steps, not iterations (batches).
    optimizer_steps = model.optimizer_steps(iterations)
    trainer = tiny_trainer(tmp_path, max_steps=optimizer_steps, max_epochs=-1)
    # (80 - 16 validation) images / 16 per batch = 4 batches per epoch: the stop at iteration 6 falls mid-epoch.
    trainer.fit(model, datamodule=synthetic_data(**DATA.get(name, {})), ckpt_path=resume_from)
    assert model.iteration == iterations
    if save_to:
        trainer.save_checkpoint(save_to)
    return model, trainer


@pytest.mark.parametrize("name", list(CASES))
def test_resumed_run_continues_bit_for_bit(name, tmp_path):
    straight, straight_trainer = _run(tmp_path / "a", name, 12)
    _run(tmp_path / "b", name, 6, save_to=tmp_path / "half.ckpt")
    resumed, resumed_trainer = _run(tmp_path / "c", name, 12, resume_from=tmp_path / "half.ckpt")
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), f"{key} differs after resume"
    for a, b in zip(straight_trainer.optimizers, resumed_trainer.optimizers):
        for pa, pb in zip(a.state.values(), b.state.values()):
            assert all(torch.equal(pa[k], pb[k]) for k in pa if torch.is_tensor(pa[k]))
    assert straight.sample(4, seed=0).equal(resumed.sample(4, seed=0))
