"""A YAML loader for files written by people we do not fully trust, that remembers where
everything was.

Rule packs come from git, edited by admins, and are loaded by long-running services. So the
loader refuses what YAML can do but a rule pack never needs: tags (``!!python/...``, custom
constructors), anchors and aliases (the "billion laughs" alias bomb), duplicate keys (the second
silently wins in most loaders), several documents in one file, and documents too large or too
deeply nested. Each refusal is a Problem at file:line:column, and all of them are reported at once.

It reads the event stream of ruamel.yaml rather than composing nodes: an alias is refused when it
is *seen*, before anything is expanded. Scalars are resolved with ruamel's YAML 1.2 resolver
(``yes``/``no`` stay text), except timestamps, which stay text too: pydantic parses dates from
text, and a date-looking string (``2026-03``) must not change type depending on its day part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import ScalarNode

from dualduty.errors import UserError
from dualduty.problems import Location, Problem

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 40
MAX_NODES = 200_000

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Span:
    """Where a key or a value sits in the source (0-based, as ruamel reports)."""

    line: int
    column: int
    index: int
    end_index: int
    style: str | None = None  # scalar style: None (plain), "'", '"', "|", ">"


@dataclass
class MarkedDoc:
    """Plain Python data (dicts, lists, str/int/float/bool/None) plus the source span of every
    key and value, addressed by key path (``("rules", 2, "where")``)."""

    data: Any
    file: str
    text: str
    keys: dict[KeyPath, Span] = field(default_factory=dict)
    values: dict[KeyPath, Span] = field(default_factory=dict)

    def location(self, path: KeyPath, *, key: bool = False) -> Location:
        """The closest known location of ``path``: its key (``key=True``) or its value; for a
        path that does not exist (a missing key) the nearest existing parent."""
        for cut in range(len(path), -1, -1):
            prefix = path[:cut]
            spans = (self.keys, self.values) if key or cut < len(path) else (self.values,)
            for table in spans:
                span = table.get(prefix)
                if span is not None:
                    return Location(file=self.file, line=span.line + 1, column=span.column + 1)
        return Location(file=self.file)

    def offset_location(self, path: KeyPath, offset: int) -> Location:
        """Location of character ``offset`` inside the scalar value at ``path``.

        Exact for plain and quoted single-line scalars and for literal blocks (``|``), which is how
        expressions are written; for other styles it falls back to the scalar's start.
        """
        span = self.values.get(path)
        if span is None:
            return self.location(path)
        position = _source_index(self.text, span, self._scalar_value(path), offset)
        if position is None:
            return Location(file=self.file, line=span.line + 1, column=span.column + 1)
        line = self.text.count("\n", 0, position)
        column = position - (self.text.rfind("\n", 0, position) + 1)
        return Location(file=self.file, line=line + 1, column=column + 1)

    def _scalar_value(self, path: KeyPath) -> str:
        node: Any = self.data
        for part in path:
            node = node[part]
        return str(node)


def _source_index(text: str, span: Span, value: str, offset: int) -> int | None:
    if not 0 <= offset <= len(value):
        return None
    if span.style is None:
        if text[span.index : span.index + len(value)] == value:
            return span.index + offset
        return None
    if span.style in {"'", '"'}:
        start = span.index + 1
        if text[start : start + len(value)] == value:
            return start + offset
        if span.style == "'" and "\n" not in value:
            # '' stands for one quote: walk the source, two characters for each quote.
            cursor = start
            for char in value[:offset]:
                if text[cursor] != char:
                    return None
                cursor += 2 if char == "'" else 1
            return cursor
        return None
    if span.style == "|":
        # The block's lines follow the indicator line; each value line is the source line with
        # the block's indentation removed.
        header_end = text.find("\n", span.index)
        if header_end < 0:
            return None
        value_line = value[:offset].count("\n")
        column = offset - (value.rfind("\n", 0, offset) + 1)
        cursor = header_end + 1
        lines = text[cursor:].split("\n")
        indent = None
        for seen, source_line in enumerate(lines):
            stripped = source_line.lstrip(" ")
            if indent is None and stripped:
                indent = len(source_line) - len(stripped)
            if seen == value_line:
                return cursor + (indent or 0) + column
            cursor += len(source_line) + 1
        return None
    return None


class _Refused(Exception):
    """Stops reading at the first event that makes the rest meaningless (too deep, too big)."""


class _Builder:
    def __init__(self, doc: MarkedDoc, yaml: YAML) -> None:
        self.doc = doc
        self.yaml = yaml
        self.problems: list[Problem] = []
        self.nodes = 0

    def problem(self, message: str, event: Event, hint: str | None = None) -> None:
        mark = event.start_mark
        self.problems.append(
            Problem(
                message=message,
                location=Location(file=self.doc.file, line=mark.line + 1, column=mark.column + 1),
                hint=hint,
            )
        )

    def check(self, event: Event, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.problem(
                f"文档过大 / document too large: more than {MAX_NODES} nodes",
                event,
                hint="split the pack into several files",
            )
            raise _Refused
        if depth > MAX_DEPTH:
            self.problem(
                f"嵌套过深 / nested deeper than {MAX_DEPTH} levels",
                event,
                hint="rule packs never need this depth; check indentation",
            )
            raise _Refused
        anchor = getattr(event, "anchor", None)
        if isinstance(event, AliasEvent):
            self.problem(
                f"不允许使用别名 / aliases are not allowed (*{anchor})",
                event,
                hint="write the value out; aliases can expand exponentially (alias bomb)",
            )
        elif anchor is not None:
            self.problem(
                f"不允许使用锚点 / anchors are not allowed (&{anchor})",
                event,
                hint="remove the anchor and write values out where they are needed",
            )
        tag = getattr(event, "tag", None)
        if tag is not None and not (isinstance(event, ScalarEvent) and event.implicit[0]):
            self.problem(
                f"不允许使用标签 / tags are not allowed ({str(tag).replace('tag:yaml.org,2002:', '!!')})",
                event,
                hint="remove the tag; quote the value if it must stay text",
            )

    def scalar(self, event: ScalarEvent) -> Any:
        if event.style is not None or not event.implicit[0]:
            return event.value
        tag = str(self.yaml.resolver.resolve(ScalarNode, event.value, event.implicit))
        if tag.endswith(":merge"):
            self.problem(
                "不允许使用合并键 / merge keys (<<) are not allowed",
                event,
                hint="write the keys out in each mapping",
            )
            return event.value
        if not tag.endswith((":int", ":float", ":bool", ":null")):
            return event.value  # text, and timestamps kept as text
        node = ScalarNode(tag, event.value, start_mark=event.start_mark, end_mark=event.end_mark)
        return self.yaml.constructor.construct_object(node)

    def span(self, event: Event) -> Span:
        return Span(
            line=event.start_mark.line,
            column=event.start_mark.column,
            index=event.start_mark.index,
            end_index=event.end_mark.index,
            style=getattr(event, "style", None) if isinstance(event, ScalarEvent) else None,
        )

    def value(self, events: _Events, path: KeyPath, depth: int) -> Any:
        event = events.next()
        self.check(event, depth)
        self.doc.values[path] = self.span(event)
        if isinstance(event, ScalarEvent):
            return self.scalar(event)
        if isinstance(event, AliasEvent):
            return None
        if isinstance(event, SequenceStartEvent):
            items: list[Any] = []
            while not isinstance(events.peek(), SequenceEndEvent):
                items.append(self.value(events, (*path, len(items)), depth + 1))
            events.next()
            return items
        if isinstance(event, MappingStartEvent):
            mapping: dict[str, Any] = {}
            while not isinstance(events.peek(), MappingEndEvent):
                key_event = events.next()
                self.check(key_event, depth + 1)
                if not isinstance(key_event, ScalarEvent):
                    self.problem("键必须是简单文本 / keys must be plain text", key_event)
                    self.skip(events, key_event)
                    self.value(events, (*path, "?"), depth + 1)
                    continue
                key = str(self.scalar(key_event))
                if key in mapping:
                    first = self.doc.keys[(*path, key)]
                    self.problem(
                        f"重复的键 / duplicate key '{key}'",
                        key_event,
                        hint=f"first defined at line {first.line + 1}; keep one of them",
                    )
                    self.value(events, (*path, "?"), depth + 1)
                    continue
                self.doc.keys[(*path, key)] = self.span(key_event)
                mapping[key] = self.value(events, (*path, key), depth + 1)
            events.next()
            return mapping
        raise _Refused  # pragma: no cover - the parser emits nothing else inside a document

    def skip(self, events: _Events, start: Event) -> None:
        """Skip the rest of a complex key."""
        level = 1 if isinstance(start, MappingStartEvent | SequenceStartEvent) else 0
        while level:
            event = events.next()
            if isinstance(event, MappingStartEvent | SequenceStartEvent):
                level += 1
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                level -= 1


class _Events:
    def __init__(self, yaml: YAML, text: str) -> None:
        self._iter = iter(yaml.parse(text))
        self._next: Event | None = None

    def peek(self) -> Event:
        if self._next is None:
            self._next = next(self._iter)
        return self._next

    def next(self) -> Event:
        event = self.peek()
        self._next = None
        return event


def load_text(text: str, *, file: str = "<input>") -> MarkedDoc:
    """Parse one YAML document; raises UserError listing every problem found."""
    doc = MarkedDoc(data=None, file=file, text=text)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise UserError(
            [
                Problem(
                    message=f"文件过大 / file too large: {size} bytes (limit {MAX_BYTES})",
                    location=Location(file=file),
                    hint="split the pack into several files",
                )
            ]
        )
    yaml = YAML(typ="safe", pure=True)
    builder = _Builder(doc, yaml)
    events = _Events(yaml, text)
    try:
        events.next()  # StreamStart
        if isinstance(events.peek(), StreamEndEvent):
            builder.problems.append(
                Problem(message="文件为空 / the file is empty", location=Location(file=file))
            )
        else:
            start = events.next()
            assert isinstance(start, DocumentStartEvent)
            doc.data = builder.value(events, (), 0)
            events.next()  # DocumentEnd
            extra = events.peek()
            if not isinstance(extra, StreamEndEvent):
                builder.problem(
                    "一个文件只能有一个文档 / only one YAML document per file",
                    extra,
                    hint="remove the '---' separator or split into files",
                )
    except _Refused:
        pass
    except MarkedYAMLError as error:
        builder.problems.append(
            Problem(
                message=f"YAML 语法错误 / YAML syntax error: {error.problem or error.context}",
                location=Location.at_mark(file, error.problem_mark or error.context_mark),
                hint="check indentation and quoting; expressions with ':' or '#' need quotes",
            )
        )
    except YAMLError as error:
        builder.problems.append(
            Problem(message=f"YAML 错误 / YAML error: {error}", location=Location(file=file))
        )
    if builder.problems:
        raise UserError(builder.problems)
    return doc


def load_path(path: Path) -> MarkedDoc:
    """Read a file (UTF-8, with or without BOM) and parse it as one YAML document."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(
            [
                Problem(
                    message=f"无法读取文件 / cannot read file: {error.strerror}",
                    location=Location(file=str(path)),
                )
            ]
        ) from None
    if len(data) > MAX_BYTES:
        raise UserError(
            [
                Problem(
                    message=f"文件过大 / file too large: {len(data)} bytes (limit {MAX_BYTES})",
                    location=Location(file=str(path)),
                    hint="split the pack into several files",
                )
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(
            [
                Problem(
                    message="文件不是 UTF-8 编码 / the file is not UTF-8",
                    location=Location(file=str(path)),
                    hint=f"save it as UTF-8 (byte {error.start})",
                )
            ]
        ) from None
    return load_text(text, file=str(path))
