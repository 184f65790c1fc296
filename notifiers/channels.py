"""The channels file: which channels exist, their kind, settings, limits and fallbacks.

```yaml
# channels.yaml — secrets are never written here, only the names of the env vars holding them
channels:
  inbox:
    kind: inbox
  mail:
    kind: email
    host: mail.corp.example
    port: 587
    starttls: true
    password_env: DUALDUTY_SMTP_PASSWORD
    username_env: DUALDUTY_SMTP_USER
    sender: 一岗双责监督平台 <dualduty@corp.example>
    fallback: inbox
  dingtalk-jw:
    kind: dingtalk
    url_env: DUALDUTY_DINGTALK_JW_URL
    secret_env: DUALDUTY_DINGTALK_JW_SECRET
    groups: {纪检监察室: ""}
    fallback: inbox
```

Every problem is reported at once with its file:line and a hint, before anything is sent.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dualduty.errors import NotFoundError, UserError
from dualduty.problems import Location, Problem
from notifiers import AnyNotifier
from notifiers.base import ChannelBase, MissingSecretError, redact
from notifiers.inbox import InboxNotifier

CHANNEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ChannelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, AnyNotifier] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_and_fallbacks(self) -> ChannelsFile:
        import re

        problems: list[str] = []
        for name, channel in self.channels.items():
            if not re.match(CHANNEL_NAME, name):
                problems.append(f"渠道名 {name!r} 不合法 / bad channel name (letters, digits, -_.)")
            if channel.fallback is None:
                continue
            if channel.fallback not in self.channels:
                close = difflib.get_close_matches(channel.fallback, list(self.channels), n=1)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                problems.append(
                    f"{name}.fallback: 未知渠道 / unknown channel {channel.fallback!r}{hint}"
                )
        for name in self.channels:
            seen = [name]
            current = self.channels[name].fallback
            while current is not None and current in self.channels:
                if current in seen:
                    problems.append(
                        "备用渠道成环 / fallback cycle: " + " -> ".join([*seen, current])
                    )
                    break
                seen.append(current)
                current = self.channels[current].fallback
        if problems:
            raise ValueError("; ".join(dict.fromkeys(problems)))
        return self


class Channels:
    """The loaded channels, looked up by name."""

    def __init__(self, channels: Mapping[str, ChannelBase], *, source: str = "<default>") -> None:
        self.by_name: dict[str, ChannelBase] = dict(channels)
        self.source = source

    def __iter__(self) -> Iterator[tuple[str, ChannelBase]]:
        return iter(self.by_name.items())

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def get(self, name: str) -> ChannelBase | None:
        return self.by_name.get(name)

    def get_or_raise(self, name: str) -> ChannelBase:
        channel = self.by_name.get(name)
        if channel is None:
            close = difflib.get_close_matches(name, list(self.by_name), n=1)
            raise NotFoundError(
                f"没有渠道 / no channel {name!r} in {self.source}",
                hint=f"did you mean {close[0]!r}?"
                if close
                else "known: " + ", ".join(self.by_name),
            )
        return channel

    def digest_channels(self) -> list[str]:
        return [name for name, channel in self.by_name.items() if channel.digest_at is not None]

    def secret_values(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every secret value the channels use: what must never appear in a log or an error."""
        environ = os.environ if environ is None else environ
        values = []
        for _, channel in self:
            for env_name in channel.secret_envs():
                value = environ.get(env_name)
                if value:
                    values.append(value)
        return values

    def missing_secrets(self, environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
        environ = os.environ if environ is None else environ
        missing: dict[str, list[str]] = {}
        for name, channel in self:
            absent = [env for env in channel.secret_envs() if not environ.get(env)]
            if absent:
                missing[name] = absent
        return missing

    def redact(self, text: str, environ: Mapping[str, str] | None = None) -> str:
        return redact(text, self.secret_values(environ))


def default_channels() -> Channels:
    """No channels file: everything goes to the in-app inbox (the embedded default)."""
    return Channels({"inbox": InboxNotifier()}, source="<default: inbox only>")


def _yaml_location(document: Any, path: tuple[Any, ...], file: str) -> Location:
    """Line and column of the deepest key of ``path`` present in the ruamel document."""
    line: int | None = None
    column: int | None = None
    node = document
    for key in path:
        lc = getattr(node, "lc", None)
        if isinstance(node, Mapping) and key in node:
            if lc is not None:
                position = lc.key(key)
                line, column = position[0] + 1, position[1] + 1
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            if lc is not None:
                position = lc.item(key)
                line, column = position[0] + 1, position[1] + 1
            node = node[key]
        # Keys not in the document (a union's tag in pydantic's path) are skipped.
    return Location(file=file, line=line, column=column)


def _problems_from(error: ValidationError, document: Any, file: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        field = ".".join(str(part) for part in loc) or None
        hint = None
        if item["type"] == "extra_forbidden" and len(loc) >= 3:
            kind = loc[2]
            allowed = _fields_of_kind(str(kind))
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
        elif item["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            hint = "kind: email | webhook | dingtalk | wecom | feishu | inbox"
        problems.append(
            Problem(
                message=str(item["msg"]),
                location=_yaml_location(document, loc, file),
                field=field,
                hint=hint,
            )
        )
    return problems


def _fields_of_kind(kind: str) -> list[str]:
    from typing import get_args

    union = get_args(AnyNotifier)[0]
    for cls in get_args(union):
        if cls.model_fields["kind"].default == kind:
            return sorted(cls.model_fields)
    return []


def parse_channels(text: str, *, file: str = "<channels>") -> Channels:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as error:
        raise UserError(
            [
                Problem(
                    message=f"YAML 格式错误 / invalid YAML: {error.problem}",
                    location=Location.at_mark(file, error.problem_mark),
                )
            ]
        ) from None
    if not isinstance(document, Mapping):
        raise UserError(
            [
                Problem(
                    message="渠道文件须为映射 / the channels file must be a mapping",
                    location=Location(file=file, line=1),
                    hint="start with `channels:`",
                )
            ]
        )
    try:
        parsed = ChannelsFile.model_validate(_plain(document))
    except ValidationError as error:
        raise UserError(_problems_from(error, document, file)) from None
    return Channels(parsed.channels, source=file)


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists (pydantic wants those)."""
    if isinstance(node, Mapping):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node


def load_channels(path: Path | None = None) -> Channels:
    """The channels of ``path`` (default: settings.channels_file).

    A missing file at the default path means "inbox only", so the embedded mode needs no
    configuration; a path that was set explicitly must exist.
    """
    from dualduty.settings import Settings, get_settings

    settings = get_settings()
    explicit = (
        path is not None or settings.channels_file != Settings.model_fields["channels_file"].default
    )
    path = path or settings.channels_file
    if not path.exists():
        if explicit:
            raise UserError(
                [
                    Problem(
                        message="渠道文件不存在 / channels file not found",
                        location=Location(file=str(path)),
                        hint="create it (see notifiers/channels.py) or unset DUALDUTY_CHANNELS_FILE",
                    )
                ]
            )
        return default_channels()
    return parse_channels(path.read_text(encoding="utf-8-sig"), file=str(path))


__all__ = [
    "Channels",
    "ChannelsFile",
    "MissingSecretError",
    "default_channels",
    "load_channels",
    "parse_channels",
]
