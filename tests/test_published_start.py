"""Published weights as a starting point: every published name (and a file `zoo publish` wrote) given to `zoo fit`,
`zoo validate` and `zoo test` as --ckpt_path either starts from its weights or is refused with one message."""

import pytest
import torch

from tests.conftest import needs_fashion_mnist, run_in_process
from tests.faults import run as run_process
from zoo.pretrained import get, list_pretrained

FASHION_MNIST = sorted(e.name for e in list_pretrained() if e.dataset == "Fashion-MNIST")
FAST = ["--trainer.callbacks=[]", "--images.every_n_batches=0", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--data.init_args.train_subset=64", "--data.init_args.batch_size=16"]
LIMITS = {"fit": ["--trainer.max_steps=1", "--trainer.limit_val_batches=0"],
          "validate": ["--trainer.limit_val_batches=1"], "test": ["--trainer.limit_test_batches=1"]}
FINE_TUNING = "starting a new run from the weights of"
REFUSED = "is a published checkpoint: it leaves out"


def expected_answer(name: str) -> str:
    """Releases that left training nets out are refused; the others start from their weights (fit) or are scored."""
    return REFUSED if get(name).training.get("omitted_nets") else FINE_TUNING


@needs_fashion_mnist
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("command", ["fit", "validate", "test"])
@pytest.mark.parametrize("name", FASHION_MNIST)
def test_a_published_name_as_ckpt_path_starts_from_its_weights_or_is_refused_in_one_message(name, command, tmp_path):
    code, output = run_in_process([command, "--config", f"{name}.yaml", "--ckpt_path", name,
                                   f"--trainer.default_root_dir={tmp_path}", *FAST, *LIMITS[command]],
                                  with_stdout=True)
    assert "Traceback" not in output and "Checkpoint file not found" not in output
    if expected_answer(name) == REFUSED:
        assert code == 1 and REFUSED in output and output.count("zoo: error:") == 1
        assert not list(tmp_path.rglob("version_*")), "a refused run left a version folder"
    else:
        assert code == 0, output[-2000:]
        assert (FINE_TUNING in output) == (command == "fit")


@needs_fashion_mnist
@pytest.mark.ci
def test_fine_tuning_from_a_published_name_in_a_real_process_starts_a_new_run_from_its_weights(tmp_path):
    code, output = run_process(["fit", "--config", "dcgan_small_fashion_mnist.yaml", "--ckpt_path",
                                "dcgan_small_fashion_mnist", f"--trainer.default_root_dir={tmp_path}", *FAST,
                                "--trainer.max_steps=2"], cwd=tmp_path, timeout=120)
    assert code == 0 and FINE_TUNING in output and "Traceback" not in output, output[-3000:]
    last = torch.load(next(tmp_path.rglob("last.ckpt")), weights_only=False)
    assert last["zoo"]["iteration"] == 1  # a fresh iteration count: one batch (max_steps counts D's and G's steps)
    published = torch.load(get("dcgan_small_fashion_mnist").shipped_path, weights_only=False)
    moved = [k for k, v in last["state_dict"].items() if v.is_floating_point()
             and (v - published["state_dict"][k].float()).abs().max() > 0.05]
    assert len(moved) < len(last["state_dict"]) // 2, "fine-tuning started far from the published weights"
    for command in ("validate", "test"):
        code, output = run_process([command, "--config", "dcgan_small_fashion_mnist.yaml", "--ckpt_path",
                                    "dcgan_small_fashion_mnist", f"--trainer.default_root_dir={tmp_path}", *FAST,
                                    *LIMITS[command]], cwd=tmp_path, timeout=120)
        assert code == 0 and "Traceback" not in output and "d/loss" in output, output[-3000:]


@needs_fashion_mnist
@pytest.mark.ci
def test_a_release_that_left_nets_out_is_refused_in_a_real_process_and_leaves_no_run_folder(tmp_path):
    code, output = run_process(["fit", "--config", "avb_fashion_mnist.yaml", "--ckpt_path", "avb_fashion_mnist",
                                f"--trainer.default_root_dir={tmp_path}"], cwd=tmp_path, timeout=120)
    assert code == 1 and REFUSED in output and "Traceback" not in output, output[-3000:]
    assert not list(tmp_path.rglob("version_*"))
