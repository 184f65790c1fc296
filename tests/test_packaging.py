"""Our top-level import names (models, rules, notifiers …) are common words on PyPI: make sure
the ones Python imports are ours, and that no other installed distribution claims them."""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

TOP_LEVEL = [
    "dualduty",
    "rules",
    "evidence",
    "workflows",
    "models",
    "notifiers",
    "console",
    "assessments",
]
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name_is_ours(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(ROOT), (
        f"`import {name}` resolved to {module.__file__}, not to this project: another "
        "distribution shadows it. Install dualduty into its own virtual environment."
    )
    claimed_by = importlib.metadata.packages_distributions().get(name, [])
    assert set(claimed_by) <= {"dualduty"}, f"{name} is also provided by {claimed_by}"


def test_wheel_ships_every_top_level_package() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) >= set(TOP_LEVEL)
