"""The channels file: every kind documented and loadable; bad files reported with locations."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import get_args

import pytest

from dualduty.errors import NotFoundError, UserError
from dualduty.settings import get_settings
from notifiers import AnyNotifier
from notifiers.channels import load_channels, parse_channels


def kinds() -> list[type]:
    return list(get_args(get_args(AnyNotifier)[0]))


@pytest.mark.parametrize("cls", kinds(), ids=lambda cls: cls.__name__)
def test_every_kind_documents_a_config_that_loads(cls: type) -> None:
    """The YAML example in each notifier's docstring is a valid channels-file entry."""
    match = re.search(r"```yaml\n(.*?)```", cls.__doc__ or "", re.S)
    assert match, f"{cls.__name__} has no YAML example"
    example = textwrap.indent(textwrap.dedent(match.group(1)), "  ")
    if "kind: inbox" in example:
        text = "channels:\n" + example
    else:
        text = "channels:\n  inbox:\n    kind: inbox\n" + example
    loaded = parse_channels(text)
    assert any(type(channel) is cls for _, channel in loaded)


def test_module_example_loads() -> None:
    import notifiers.channels as module

    match = re.search(r"```yaml\n(.*?)```", module.__doc__ or "", re.S)
    assert match
    loaded = parse_channels(match.group(1))
    assert [name for name, _ in loaded] == ["inbox", "mail", "dingtalk-jw"]
    assert [str(limit) for limit in loaded.get_or_raise("dingtalk-jw").effective_rate_limits()] == [
        "20/60s"
    ]


def test_documented_rate_limits() -> None:
    text = """
channels:
  fs: {kind: feishu, url_env: U}
  wc: {kind: wecom, url_env: U}
  dt: {kind: dingtalk, url_env: U, rate_limits: [{count: 10, per_seconds: 60}]}
"""
    loaded = parse_channels(text)
    assert [str(x) for x in loaded.get_or_raise("fs").effective_rate_limits()] == [
        "5/1s",
        "100/60s",
    ]
    assert [str(x) for x in loaded.get_or_raise("wc").effective_rate_limits()] == ["20/60s"]
    assert [str(x) for x in loaded.get_or_raise("dt").effective_rate_limits()] == ["10/60s"]


def test_all_problems_at_once_with_lines_and_hints() -> None:
    text = """channels:
  mail:
    kind: email
    host: mail.corp
    sender: noreply@corp.example
    startls: true
  robot:
    kind: dingding
    url_env: X
  hook:
    kind: webhook
    url_env: not a name
"""
    with pytest.raises(UserError) as caught:
        parse_channels(text, file="channels.yaml")
    problems = {p.field: p for p in caught.value.problems}
    typo = problems["channels.mail.email.startls"]
    assert typo.location is not None and (typo.location.file, typo.location.line) == (
        "channels.yaml",
        6,
    )
    assert typo.hint == "did you mean 'starttls'?"
    kind = problems["channels.robot"]
    assert kind.location is not None and kind.location.line == 7
    assert kind.hint is not None and "dingtalk" in kind.hint
    env = problems["channels.hook.webhook.url_env"]
    assert env.location is not None and env.location.line == 12


def test_fallbacks_must_exist_and_not_loop() -> None:
    with pytest.raises(UserError, match="unknown channel 'inbx' — did you mean 'inbox'"):
        parse_channels(
            "channels:\n  inbox: {kind: inbox}\n  hook: {kind: webhook, url_env: U, fallback: inbx}\n"
        )
    with pytest.raises(UserError, match="fallback cycle: a -> b -> a"):
        parse_channels(
            "channels:\n  a: {kind: webhook, url_env: U, fallback: b}\n  b: {kind: webhook, url_env: U, fallback: a}\n"
        )


def test_bad_yaml_duplicate_key_and_non_mapping() -> None:
    with pytest.raises(UserError, match=r"channels.yaml:3"):
        parse_channels(
            "channels:\n  inbox: {kind: inbox}\n  inbox: {kind: inbox}\n", file="channels.yaml"
        )
    with pytest.raises(UserError, match="mapping"):
        parse_channels("- just a list\n")
    with pytest.raises(UserError, match="invalid YAML"):
        parse_channels("channels: [unclosed\n")


def test_missing_default_file_means_inbox_only_explicit_file_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DUALDUTY_CHANNELS_FILE", raising=False)
    get_settings.cache_clear()
    assert [name for name, _ in load_channels()] == ["inbox"]
    with pytest.raises(UserError, match="channels file not found"):
        load_channels(tmp_path / "nope.yaml")
    (tmp_path / "mine.yaml").write_text("channels:\n  box: {kind: inbox}\n", encoding="utf-8")
    monkeypatch.setenv("DUALDUTY_CHANNELS_FILE", str(tmp_path / "mine.yaml"))
    get_settings.cache_clear()
    loaded = load_channels()
    assert [name for name, _ in loaded] == ["box"]
    with pytest.raises(NotFoundError, match="did you mean 'box'"):
        loaded.get_or_raise("bx")
    get_settings.cache_clear()


def test_missing_secrets_are_named_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SET", "https://oapi.example/robot/send?access_token=abc123")
    monkeypatch.delenv("T_UNSET", raising=False)
    loaded = parse_channels(
        "channels:\n  dt: {kind: dingtalk, url_env: T_SET, secret_env: T_UNSET}\n"
    )
    assert loaded.missing_secrets() == {"dt": ["T_UNSET"]}
    assert loaded.secret_values() == ["https://oapi.example/robot/send?access_token=abc123"]
    assert (
        loaded.redact("failed at https://oapi.example/robot/send?access_token=abc123")
        == "failed at ***"
    )
