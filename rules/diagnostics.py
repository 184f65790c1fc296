"""Turning pydantic's validation errors into Problems an admin can act on.

Pydantic reports a location as a tuple that mixes the document's keys with union tags
(``('rules', 2, 'duty', 'wher')``). Here the tuple is walked against the YAML data to find the
line and column, against the model classes to suggest the key that was meant, and missing keys
of one mapping are folded into one problem.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from dualduty.problems import Problem
from rules.safeyaml import KeyPath, MarkedDoc

_SCALAR_TAGS = {"str", "int", "float", "bool", "decimal", "date"}


def label(path: KeyPath) -> str:
    """``('rules', 2, 'where')`` -> ``rules[2].where``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def did_you_mean(word: str, candidates: typing.Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? / 是否应为 '{close[0]}'？" if close else None


def validation_problems(
    error: ValidationError, doc: MarkedDoc, model: type[BaseModel], prefix: KeyPath = ()
) -> list[Problem]:
    """One Problem per error (missing keys of one mapping folded together), located in ``doc``.

    ``prefix`` is where the validated data sits in the document (validating one rule alone).
    """
    problems: list[Problem] = []
    missing: dict[KeyPath, list[str]] = {}
    for item in error.errors():
        loc = tuple(item["loc"])
        path, dropped = _data_path(doc, prefix, loc)
        if dropped:
            continue
        kind = item["type"]
        if kind == "missing":
            missing.setdefault(path[:-1], []).append(str(path[-1]))
            continue
        if kind == "extra_forbidden":
            allowed = _fields_at(model, loc[:-1])
            problems.append(
                Problem(
                    message=f"未知的键 / unknown key '{path[-1]}'",
                    location=doc.location(path, key=True),
                    field=label(path),
                    hint=did_you_mean(str(path[-1]), allowed)
                    or (f"allowed: {', '.join(sorted(allowed))}" if allowed else None),
                )
            )
            continue
        problems.append(
            Problem(
                message=_message(item),
                # A bad mapping key (pydantic's loc ends in "[key]") is shown at the key.
                location=doc.location(path, key=loc[-1:] == ("[key]",)),
                field=label(path) or None,
                hint=_hint(item),
            )
        )
    for parent, keys in missing.items():
        problems.append(
            Problem(
                message=f"缺少必填键 / missing required key(s): {', '.join(keys)}",
                location=doc.location(parent, key=True),
                field=label(parent) or None,
            )
        )
    return sorted(problems, key=_order)


def _order(problem: Problem) -> tuple[int, int]:
    location = problem.location
    return ((location.line or 0) if location else 0, (location.column or 0) if location else 0)


def _message(item: Any) -> str:
    kind = item["type"]
    if "hint" in item.get("ctx", {}):  # our own PydanticCustomError: already bilingual
        return str(item["msg"])
    if kind == "union_tag_invalid":
        tag = item.get("ctx", {}).get("tag")
        return f"未知的规则类型 / unknown kind '{tag}'"
    if kind == "union_tag_not_found":
        return "缺少 kind / missing 'kind' (duty, check or window)"
    if kind in {"literal_error", "enum"}:
        return f"取值无效 / invalid value: {item['msg']}"
    if kind == "string_pattern_mismatch":
        return f"格式不符 / wrong format: {item['msg']}"
    if kind == "value_error":
        return str(item["msg"]).removeprefix("Value error, ")
    return f"无效 / invalid: {item['msg']}"


def _hint(item: Any) -> str | None:
    kind = item["type"]
    context = item.get("ctx", {})
    if isinstance(context.get("hint"), str):  # a validator's own (PydanticCustomError ctx)
        return str(context["hint"])
    if kind == "union_tag_invalid":
        tag = str(context.get("tag"))
        expected = [t.strip(" '") for t in str(context.get("expected_tags", "")).split(",")]
        return did_you_mean(tag, expected) or f"kind is one of: {', '.join(expected)}"
    if kind in {"literal_error", "enum"}:
        wanted = str(context.get("expected", ""))
        options = [t.strip(" '") for t in wanted.replace(" or ", ",").split(",") if t.strip()]
        value = item.get("input")
        return did_you_mean(str(value), options) if isinstance(value, str) else None
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        if "a-z0-9]*(-" in pattern:
            return "ids are kebab-case: lower-case letters, digits and '-' (branch-committee)"
        if "a-z0-9_]*" in pattern:
            return "field names are lower_snake_case ASCII (held_on)"
        if "0[1-9]|1[0-2]" in pattern:
            return "period: month, quarter, half, year, none, or a deadline MM-DD (03-31)"
    return None


def _data_path(doc: MarkedDoc, prefix: KeyPath, loc: KeyPath) -> tuple[KeyPath, bool]:
    """The document path for ``loc`` (union tags removed), and whether the error belongs to a
    union branch that cannot apply to the data (a string branch while the data is a mapping)."""
    node: Any = doc.data
    for part in prefix:
        node = node[part]
    path: list[str | int] = list(prefix)
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_mapping = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            node = node[part]
            path.append(part)
        elif not isinstance(node, dict | list):
            break  # the rest names union branches tried on this scalar
        elif last:
            path.append(part)
        elif part in _SCALAR_TAGS and isinstance(node, dict | list):
            return tuple(path), True
        # else: a union tag; it names a branch, not a key
    return tuple(path), False


def _fields_at(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """The keys allowed where ``loc`` points (a model's fields), for "did you mean"."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    target = _model_of(current)
    return list(target.model_fields) if target else []


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) in {Union, types.UnionType}:
        return list(typing.get_args(tp))
    return [tp]


def _model_of(tp: Any) -> type[BaseModel] | None:
    models = [
        _unwrap(m)
        for m in _members(tp)
        if isinstance(_unwrap(m), type) and issubclass(_unwrap(m), BaseModel)
    ]
    return models[0] if len(models) == 1 else None


def _step(tp: Any, part: str | int) -> Any:
    members = _members(tp)
    # A union tag in the loc picks the branch: a model's name, its `kind`, or a Tag().
    if len(members) > 1 and isinstance(part, str):
        for member in members:
            if part in _tags(member):
                return member
    model = _model_of(tp)
    if model is not None:
        if isinstance(part, str) and part in model.model_fields:
            return model.model_fields[part].annotation
        return None
    for member in members:
        origin = typing.get_origin(_unwrap(member))
        args = typing.get_args(_unwrap(member))
        if origin is list and isinstance(part, int):
            return args[0]
        if origin is dict and isinstance(part, str):
            return args[1]
    return None


def _tags(member: Any) -> set[str]:
    tags: set[str] = set()
    if typing.get_origin(member) is typing.Annotated:
        for meta in typing.get_args(member)[1:]:
            tag = getattr(meta, "tag", None)
            if isinstance(tag, str):
                tags.add(tag)
    inner = _unwrap(member)
    if isinstance(inner, type):
        tags.add(inner.__name__)
        if issubclass(inner, BaseModel) and "kind" in inner.model_fields:
            for value in typing.get_args(inner.model_fields["kind"].annotation):
                tags.add(str(value))
    return tags
