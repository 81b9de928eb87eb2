"""Shipped configs, with their callbacks (sample-quality curve, image grids, checkpoints), under Lightning's DDP on CPU
processes: 2 devices of one machine with the default strategy, and 2 nodes x 1 process started one command per node.

Each checks that the ranks end identical (the gradient penalty, generator EMA, historical averaging, BEGAN's k_t and a
conditional GAN's labels included), that each rank trained on its own shard of the data, and that only global rank 0
wrote files.
"""

import pytest
import torch

from tests.conftest import assert_ranks_identical, needs_fashion_mnist, run_ddp, run_two_nodes

pytestmark = [pytest.mark.ddp, needs_fashion_mnist]

BUDGET = ["--trainer.max_steps=8"]  # optimiser steps: 4 iterations of D then G (n_critic 1)
EXTRA = {
    "dcgan_fashion_mnist.yaml": [],
    "wgangp_fashion_mnist.yaml": ["--model.init_args.n_critic=1", "--model.init_args.techniques.ema_decay=0.9",
                                  "--model.init_args.techniques.historical_averaging=0.01"],
    "began_fashion_mnist.yaml": ["--model.init_args.lambda_k=0.5"],
    "cgan_fashion_mnist.yaml": [],  # each rank's batches bring their own labels to G and D
}


def _shards_are_disjoint(ranks: list[dict]) -> None:
    """Within each epoch the two ranks trained on different images (epochs reshuffle, so only within one)."""
    epochs = {epoch for epoch, _ in ranks[0]["seen"]}
    assert epochs == {epoch for epoch, _ in ranks[1]["seen"]}
    for epoch in epochs:
        first, second = ({h for e, h in rank["seen"] if e == epoch} for rank in ranks)
        assert first and second and not first & second, f"the ranks trained on overlapping images in epoch {epoch}"


@pytest.mark.parametrize("config", list(EXTRA))
def test_two_devices_with_the_default_strategy_train_a_shipped_config(config, tmp_path):
    ranks = run_ddp(config, tmp_path, *BUDGET, *EXTRA[config])
    assert ranks[0]["iteration"] == 4
    assert_ranks_identical(ranks)
    _shards_are_disjoint(ranks)
    state = ranks[0]["state"]
    if config.startswith("began"):
        assert 0.0 < state["k"].item() <= 1.0  # k moved, by the same amount on both ranks
    if config.startswith("wgangp"):
        assert any(key.startswith("generator_ema.") for key in state)
        assert any(key.startswith("weight_history.") for key in state)
    run = tmp_path / "runs" / config.removesuffix(".yaml") / "version_0"
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "images" / "samples_final.png").is_file()
    if config.startswith("cgan"):
        assert (run / "images" / "classes_final.png").is_file()
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=False)  # the ranks agreed on the FID's best
    assert best["zoo"]["iteration"] == 4 and "optimizer_states" in best


def test_two_nodes_train_identically_write_on_rank_zero_only_and_resume_exactly(tmp_path):
    config = "dcgan_fashion_mnist.yaml"
    nodes = (tmp_path / "node0", tmp_path / "node1")  # each node in its own folder: who wrote what is visible
    ranks = run_two_nodes(config, tmp_path / "first", nodes, "--trainer.max_steps=4")
    assert ranks[0]["iteration"] == 2
    assert_ranks_identical(ranks)
    _shards_are_disjoint(ranks)
    run = nodes[0] / "runs" / "dcgan_fashion_mnist" / "version_0"
    assert (run / "metrics.csv").is_file() and (run / "images" / "samples_final.png").is_file()
    assert not (nodes[1] / "runs").exists(), f"rank 1 wrote {sorted(nodes[1].rglob('*'))}"

    resumed = run_two_nodes(config, tmp_path / "second", nodes, "--trainer.max_steps=8",
                            f"--ckpt_path={run / 'checkpoints' / 'last.ckpt'}")
    straight = run_two_nodes(config, tmp_path / "straight", (tmp_path / "s0", tmp_path / "s1"),
                             "--trainer.max_steps=8")
    assert resumed[0]["iteration"] == straight[0]["iteration"] == 4
    assert_ranks_identical(resumed)
    for key, value in straight[0]["state"].items():  # rank 0 holds the run's whole state, buffers included
        assert torch.equal(value, resumed[0]["state"][key]), f"{key}: the resumed 2-node run differs"
    assert not (nodes[1] / "runs").exists()
