"""Reading a scheme file: safe YAML, pydantic validation, every problem at file:line:column.

The YAML loader and the error mapping are the rule packs' (``rules.safeyaml``,
``rules.diagnostics``), so a scheme fails the same way, with the same hints, as a pack.

The scheme's content hash is part of every assessment stored from it, so that a published
assessment names exactly the text it was scored with, and the text itself is stored beside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from assessments.scheme import Scheme
from dualduty.errors import UserError
from dualduty.problems import Problem
from rules.diagnostics import validation_problems
from rules.safeyaml import MarkedDoc, load_path, load_text

DEFAULT_SCHEME_FILE = Path(__file__).resolve().parents[1] / "rules" / "packs" / "assessment.yaml"


class LoadedScheme(BaseModel):
    """A validated scheme with the exact text it came from and that text's sha256."""

    model_config = ConfigDict(frozen=True)

    scheme: Scheme
    text: str
    sha256: str
    source: str


def load_scheme(path: Path | None = None) -> LoadedScheme:
    """Load a scheme file (default: the sample ``rules/packs/assessment.yaml``).

    Raises UserError listing every problem with its location and a hint.
    """
    doc = load_path(path or DEFAULT_SCHEME_FILE)
    return _validate(doc)


def parse_scheme(text: str, *, source: str = "<scheme>") -> LoadedScheme:
    """Validate scheme text already in memory (a stored assessment's scheme, a test's)."""
    return _validate(load_text(text, file=source))


def _validate(doc: MarkedDoc) -> LoadedScheme:
    if not isinstance(doc.data, dict):
        raise UserError(
            [
                Problem(
                    message="考核方案必须是映射 / a scheme must be a mapping of keys to values",
                    location=doc.location(()),
                    hint="start with `scheme: <name>`",
                )
            ]
        )
    try:
        scheme = Scheme.model_validate(doc.data)
    except ValidationError as error:
        raise UserError(validation_problems(error, doc, Scheme)) from None
    return LoadedScheme(
        scheme=scheme,
        text=doc.text,
        sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
        source=doc.file,
    )
