"""Problems: what is wrong with a user's input, where, and what to do about it.

Every loader (rule packs, org files, evidence files) reports *all* problems it finds at once
as a list of ``Problem`` so an admin fixes a file in one pass rather than one error per run.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict


class Mark(Protocol):
    """A parser's position, as ruamel.yaml's marks give it: 0-based line and column."""

    line: int
    column: int


class Location(BaseModel):
    """A place in a file. Lines and columns are 1-based, as editors show them."""

    model_config = ConfigDict(frozen=True)

    file: str | None = None
    line: int | None = None
    column: int | None = None

    @classmethod
    def at_mark(cls, file: str, mark: Mark | None) -> Location:
        """Where a parser's mark points; the file alone when the error carries no mark."""
        if mark is None:
            return cls(file=file)
        return cls(file=file, line=mark.line + 1, column=mark.column + 1)

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class Problem(BaseModel):
    """One thing wrong with an input.

    ``field`` names the key path, column or record the problem is about (``rules[2].require``,
    ``列 召开日期``, ``record B01/2026-03-04``); ``hint`` says what to do.
    """

    model_config = ConfigDict(frozen=True)

    message: str
    location: Location | None = None
    field: str | None = None
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f"{self.field}: " if self.field else ""
        hint = f" (提示/hint: {self.hint})" if self.hint else ""
        return f"{where}{self.severity}: {what}{self.message}{hint}"


def render(problems: list[Problem]) -> str:
    """Human-readable block, one problem per line, errors first."""
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    return "\n".join(str(p) for p in ordered)
