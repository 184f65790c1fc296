"""Rule kinds: one class each, registered in ``Rule`` (a union on ``kind``).

Adding a kind: a model here (what the rule says), a query builder in ``rules.queries`` (how it
runs), one line in each registry, and a docstring example that ``tests/rules`` validates.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rules.kinds.base import RuleBase
from rules.kinds.check import Check
from rules.kinds.duty import Duty
from rules.kinds.window import Window

Rule = Annotated[Duty | Check | Window, Field(discriminator="kind")]

__all__ = ["Check", "Duty", "Rule", "RuleBase", "Window"]
