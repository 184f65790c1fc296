"""The one registry of evidence source kinds: ``AnySource``, a union discriminated on ``kind``.

Adding a kind = one module with one ``BaseSource`` subclass + one line in ``_KINDS`` below.
A rule pack writes ``source: {kind: file, path: …}``, or the shorthand ``{file: …}``,
``{sql: …}``, ``{http: …}`` where the kind is the one key naming it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag

from evidence.sources.base import (
    BaseSource,
    FetchContext,
    FetchResult,
    OnError,
    RawRecord,
    TypedRecord,
    Typing,
    type_records,
)
from evidence.sources.file import FileSource
from evidence.sources.http import HttpSource
from evidence.sources.manual import ManualSource
from evidence.sources.sql import SqlSource

_KINDS: dict[str, type[BaseSource]] = {
    "file": FileSource,
    "sql": SqlSource,
    "http": HttpSource,
    "manual": ManualSource,
}


def _kind_of(value: Any) -> str | None:
    """``kind`` if given, else the shorthand key (``file``/``sql``/``http``) that names it."""
    if isinstance(value, BaseSource):
        return value.kind
    if isinstance(value, dict):
        if "kind" in value:
            return str(value["kind"])
        named = [k for k in ("file", "sql", "http") if k in value]
        if len(named) == 1:
            return named[0]
    return None


AnySource = Annotated[
    Annotated[FileSource, Tag("file")]
    | Annotated[SqlSource, Tag("sql")]
    | Annotated[HttpSource, Tag("http")]
    | Annotated[ManualSource, Tag("manual")],
    Discriminator(
        _kind_of,
        custom_error_type="source_kind",
        custom_error_message="source needs `kind`: one of file, sql, http, manual",
    ),
]

__all__ = [
    "AnySource",
    "BaseSource",
    "FetchContext",
    "FetchResult",
    "FileSource",
    "HttpSource",
    "ManualSource",
    "OnError",
    "RawRecord",
    "SqlSource",
    "TypedRecord",
    "Typing",
    "kinds",
    "type_records",
]


def kinds() -> dict[str, type[BaseSource]]:
    """Every registered kind (for docs, schema tests and ``dualduty evidence kinds``)."""
    return dict(_KINDS)
