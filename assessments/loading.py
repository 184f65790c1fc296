"""Reading a scheme file: safe YAML, pydantic validation, every problem at file:line:column.

The scheme's content hash is part of every assessment stored from it, so that a published
assessment names exactly the text it was scored with, and the text itself is stored beside it.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from assessments.scheme import Scheme
from dualduty.errors import UserError
from dualduty.problems import Problem
from rules.safeyaml import KeyPath, MarkedDoc, load_path, load_text

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
        raise UserError(validation_problems(error, doc)) from None
    return LoadedScheme(
        scheme=scheme,
        text=doc.text,
        sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
        source=doc.file,
    )


def validation_problems(error: ValidationError, doc: MarkedDoc) -> list[Problem]:
    """One Problem per pydantic error, located at the offending key or value."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = _data_path(item["loc"], doc.data)
        field = _dotted(loc)
        if item["type"] == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            problems.append(
                Problem(
                    message=f"未知的键 / unknown key {key!r}",
                    location=doc.location(loc, key=True),
                    field=field,
                    hint=_did_you_mean(key, _allowed_keys(loc[:-1], doc.data)),
                )
            )
            continue
        if item["type"] == "missing":
            problems.append(
                Problem(
                    message=f"缺少必填项 / missing required key {str(loc[-1])!r}",
                    location=doc.location(loc[:-1]),
                    field=field,
                    hint=f"add `{loc[-1]}:` here",
                )
            )
            continue
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(
            Problem(
                message=f"取值无效 / invalid value: {message}",
                location=doc.location(loc),
                field=field,
                hint=_hint_for(item),
            )
        )
    return sorted(problems, key=_position)


def _position(problem: Problem) -> tuple[int, int]:
    where = problem.location
    return (where.line or 0, where.column or 0) if where else (0, 0)


def _data_path(loc: tuple[int | str, ...], data: Any) -> KeyPath:
    """Pydantic inserts union and tagged-union member names into ``loc``; keep only the parts
    that exist in the document so the location points at real text."""
    path: list[str | int] = []
    node = data
    for part in loc:
        found, child = _child(node, part)
        if found:
            node = child
            path.append(part)
        elif isinstance(node, dict | list):
            # A key that is missing or extra: keep it as the last part and stop.
            path.append(part)
            break
    return tuple(path)


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _dotted(loc: KeyPath) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _allowed_keys(parent: KeyPath, data: Any) -> list[str]:
    """Field names of the model at ``parent``, found by walking the scheme's model fields."""
    model: Any = Scheme
    node = data
    for part in parent:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) else node
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        node = node.get(part) if isinstance(node, dict) else None
    return list(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(key: str, allowed: list[str]) -> str | None:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`? / 是否应为 `{close[0]}`？"
    if allowed:
        return "allowed keys: " + ", ".join(allowed)
    return None


def _hint_for(item: Any) -> str | None:
    kind = item["type"]
    if kind in {"decimal_parsing", "float_parsing", "int_parsing", "decimal_type"}:
        return "write a number, e.g. 0.5"
    if kind == "greater_than_equal":
        return f"use {item.get('ctx', {}).get('ge', 0)} or more"
    if kind == "enum" or kind == "literal_error":
        expected = item.get("ctx", {}).get("expected")
        return f"one of {expected}" if expected else None
    if kind == "string_pattern_mismatch":
        return "ids are kebab-case ASCII, e.g. integrity-serious"
    return None
