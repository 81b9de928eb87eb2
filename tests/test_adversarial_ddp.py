"""The adversarial family under DDP (2 CPU processes): the gradient penalty goes through the same manual_backward,
and the averaged weights and BEGAN's k_t stay identical across ranks."""

import pytest
import torch

from tests.conftest import run_ddp


@pytest.mark.ddp
@pytest.mark.parametrize("name", ["wgangp", "began"])
def test_ranks_end_with_identical_weights_and_buffers(name, tmp_path):
    ranks = run_ddp(name, tmp_path)
    for key, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][key]), f"{key} differs between ranks"
    if name == "began":
        assert 0.0 < ranks[0]["state"]["k"].item() <= 1.0  # k moved, and by the same amount on both ranks
    else:
        assert any(key.startswith("generator_ema.") for key in ranks[0]["state"])
        assert any(key.startswith("weight_history.") for key in ranks[0]["state"])
