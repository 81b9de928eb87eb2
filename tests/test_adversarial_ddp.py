"""The adversarial family under DDP (2 CPU processes): the gradient penalty goes through the same manual_backward,
and the averaged weights and BEGAN's k_t stay identical across ranks."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.mark.ddp
@pytest.mark.parametrize("name", ["wgangp", "began"])
def test_ranks_end_with_identical_weights_and_buffers(name, tmp_path):
    script = Path(__file__).with_name("ddp_adversarial_run.py")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path), name], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["strategy"] == "DDPStrategy"
    assert ranks[0]["iteration"] == ranks[1]["iteration"] == 4
    for key, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][key]), f"{key} differs between ranks"
    if name == "began":
        assert 0.0 < ranks[0]["state"]["k"].item() <= 1.0  # k moved, and by the same amount on both ranks
    else:
        assert any(key.startswith("generator_ema.") for key in ranks[0]["state"])
        assert any(key.startswith("weight_history.") for key in ranks[0]["state"])
