"""Every way a run stops leaves a checkpoint that resumes bit-for-bit, under either kind of budget.

A run of 3 epochs × 4 batches is the reference. Other runs stop early (at ``max_steps`` mid-epoch, at an epoch end,
by ``trainer.should_stop`` as ``max_time`` and early stopping do), resume from the ``last.ckpt`` that
:class:`ResumableCheckpoint` wrote, and must end with the reference's weights, optimiser state and iteration count.
"""

import pytest
import torch
from lightning.pytorch import Callback, seed_everything

import zoo
from tests.conftest import synthetic_data, tiny_trainer
from zoo.callbacks.checkpoint import ResumableCheckpoint

DCGAN = dict(
    generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
    discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
)
EPOCHS, BATCHES = 3, 4  # (80 - 16 validation images) / 16 per batch


class StopAt(Callback):
    """Sets ``trainer.should_stop`` after a given iteration (what ``max_time`` and early stopping do)."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.iteration == self.iteration:
            trainer.should_stop = True


def _fit(folder, budget: dict, resume=None, callbacks=()):
    seed_everything(0)
    model = zoo.create("dcgan", image_shape=(1, 28, 28), **DCGAN)
    checkpoint = ResumableCheckpoint(dirpath=folder, every_minutes=None)
    trainer = tiny_trainer(folder, enable_checkpointing=True, callbacks=[checkpoint, *callbacks],
                           limit_val_batches=1, **budget)
    trainer.fit(model, datamodule=synthetic_data(), ckpt_path=resume)
    return model, trainer, checkpoint.last_model_path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    model, trainer, _ = _fit(tmp_path_factory.mktemp("reference"), {"max_epochs": EPOCHS})
    assert model.iteration == EPOCHS * BATCHES
    return model, trainer


def _steps(iterations: int) -> int:
    return zoo.create("dcgan", image_shape=(1, 28, 28), **DCGAN).optimizer_steps(iterations)


STOPS = {
    "max_steps mid-epoch": (dict(max_steps=_steps(6), max_epochs=-1), ()),
    "max_steps at an epoch end": (dict(max_steps=_steps(8), max_epochs=-1), ()),
    "max_epochs": (dict(max_epochs=1), ()),
    "should_stop mid-epoch (max_time, early stopping)": (dict(max_epochs=EPOCHS), (StopAt(5),)),
}
RESUMES = {"epochs": dict(max_epochs=EPOCHS), "steps": dict(max_steps=_steps(EPOCHS * BATCHES), max_epochs=-1)}


@pytest.mark.parametrize("resume_budget", list(RESUMES))
@pytest.mark.parametrize("stop", list(STOPS))
def test_resume_after_any_stop_equals_the_uninterrupted_run(stop, resume_budget, reference, tmp_path):
    budget, callbacks = STOPS[stop]
    stopped, _, last = _fit(tmp_path / "first", budget, callbacks=callbacks)
    assert 0 < stopped.iteration < EPOCHS * BATCHES and last
    assert zoo.load(last).iteration == stopped.iteration  # the checkpoint holds the stop, not an earlier state

    resumed, trainer, _ = _fit(tmp_path / "second", RESUMES[resume_budget], resume=last)
    straight, straight_trainer = reference
    assert resumed.iteration == straight.iteration
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), f"{key} differs from the uninterrupted run"
    for a, b in zip(straight_trainer.optimizers, trainer.optimizers):
        for state_a, state_b in zip(a.state.values(), b.state.values()):
            assert all(torch.equal(state_a[k], state_b[k]) for k in state_a if torch.is_tensor(state_a[k]))
