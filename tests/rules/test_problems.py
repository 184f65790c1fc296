"""Golden tests of the problems reported for bad packs: the exact text an admin reads.

Each ``bad/<case>.yaml`` has its expected rendering in ``bad/<case>.txt``. To accept new wording,
run with ``DUALDUTY_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dualduty.errors import UserError
from dualduty.problems import render
from rules.compiler import compile_doc
from rules.safeyaml import load_text

BAD = Path(__file__).parent / "bad"
CASES = sorted(path.stem for path in BAD.glob("*.yaml"))


def rendered(name: str) -> str:
    text = (BAD / f"{name}.yaml").read_text(encoding="utf-8")
    with pytest.raises(UserError) as caught:
        compile_doc(load_text(text, file=f"bad/{name}.yaml"))
    return render(caught.value.problems) + "\n"


@pytest.mark.parametrize("name", CASES)
def test_problems_of_bad_pack(name: str) -> None:
    golden = BAD / f"{name}.txt"
    actual = rendered(name)
    if os.environ.get("DUALDUTY_UPDATE_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


def test_every_case_has_a_golden_file() -> None:
    assert CASES
    assert sorted(p.stem for p in BAD.glob("*.txt")) == CASES
