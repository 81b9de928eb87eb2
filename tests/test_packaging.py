"""The package lists every subpackage and ships its data files (configs, classifier weights, checkpoints)."""

import tomllib

from tests.conftest import REPO


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(REPO).parts)
        for root in ("zoo", "datamodules")
        for path in (REPO / root).rglob("__init__.py")
    }
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
    assert "zoo.configs" in listed
