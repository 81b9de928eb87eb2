"""Every shipped YAML config parses, builds its model for its data's image shape, and trains two steps."""

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, synthetic_data, tiny_trainer
from zoo.cli import ZooCLI, shipped_configs

CONFIGS = sorted(p.name for p in (REPO / "configs").glob("*.yaml"))


def test_every_config_in_the_repo_ships_with_the_package():
    assert CONFIGS and set(CONFIGS) <= set(shipped_configs())


@pytest.mark.parametrize("name", CONFIGS)
def test_config_instantiates_and_trains_on_tiny_data(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((REPO / "configs" / name).read_text())
    assert config["model"]["class_path"] and config["data"]["class_path"]
    logger_name = config["trainer"]["logger"]["init_args"]["name"]
    assert logger_name == Path(name).stem, "runs/<name> should match the config's file name"

    cli = ZooCLI(args=["--config", name, "--trainer.logger=false"], run=False)  # bare name: a shipped config
    model, data = cli.model, cli.datamodule
    assert model.image_shape == data.image_shape
    tiny = synthetic_data(image_shape=data.image_shape, batch_size=4, num_images=24)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(model, datamodule=tiny)
    assert model.iteration == 2
    samples = model.sample(2, seed=0)
    assert samples.shape == (2, *data.image_shape) and 0 <= samples.min() <= samples.max() <= 1
