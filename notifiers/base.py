"""What every notifier shares: the message it sends, the errors it raises, its common settings.

Errors, by what delivery should do next::

    DeliveryError            base; its text must never hold a secret (URL tokens, keys, passwords)
    ├── RetryableError       try again later (network down, 5xx, throttled); may carry retry_after
    └── PermanentError       retrying cannot help (bad signature, unknown token, rejected address)

A notifier is a pydantic model (its channel settings, read from the channels file) with one
method, ``send(message, *, client) -> Delivery``. It talks to one service and nothing else:
addresses, templates, retries and rate limits are delivery's business.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.orm import Session

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class DeliveryError(Exception):
    """A send failed. ``str(error)`` is shown to operators and stored as last_error."""


class RetryableError(DeliveryError):
    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        throttled: bool = False,
        channel_down: bool = False,
    ) -> None:
        super().__init__(message)
        # Seconds the service asked us to wait (Retry-After, x-ogw-ratelimit-reset …).
        self.retry_after = retry_after
        # The service says the whole channel is over its limit: pause the channel, not only
        # this message, so other deliverers stop hammering it too.
        self.throttled = throttled
        # The service is unreachable or failing: the rest of this pass skips the channel
        # instead of spending every message's attempts on it.
        self.channel_down = channel_down


class PermanentError(DeliveryError):
    pass


class MissingSecretError(PermanentError):
    """A channel names an environment variable that is not set (a configuration problem)."""


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(gt=0, description="at most this many requests …")
    per_seconds: float = Field(gt=0, description="… in any window of this many seconds")

    def __str__(self) -> str:
        return f"{self.count}/{self.per_seconds:g}s"


class Address(BaseModel):
    """Where one message goes on one channel, resolved from the org or the channel's groups."""

    model_config = ConfigDict(frozen=True)

    recipient: str  # person code or group:NAME, as in the outbox
    name: str = ""  # display name (person's name or the group's)
    value: str = ""  # the channel-specific address: e-mail, mobile, user id; "" = the group itself
    is_group: bool = False


class Message(BaseModel):
    """A rendered message, ready for one channel. Markdown is the common format: chat robots
    speak it, e-mail sends it as the plain part and renders it for the HTML part."""

    model_config = ConfigDict(frozen=True)

    outbox_id: int | None
    key: str = Field(description="idempotency key (hex); same on every attempt of a message")
    channel: str
    address: Address
    title: str
    markdown: str
    link: str | None = None
    language: Literal["zh", "en"] = "zh"
    case_id: int | None = None
    step: str = ""
    template: str = ""


class Delivery(BaseModel):
    """A successful send."""

    provider_ref: str | None = None  # Message-ID, service message id …
    detail: str = ""


def wall_time() -> float:
    return time.time()


@dataclass
class SendContext:
    """What a send may use besides its settings: injected so tests point it at loopback.

    ``session`` is given to transactional notifiers (the inbox) only: they write in the same
    transaction that records the outbox row as sent. ``wall_clock`` is real time on purpose:
    signatures are checked against the service's own clock, not delivery's injected one.
    """

    http: httpx.Client
    session: Session | None = None
    environ: dict[str, str] | None = None
    wall_clock: Callable[[], float] = wall_time
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    timeout: float = 10.0

    def secret(self, env_name: str) -> SecretStr:
        environ = os.environ if self.environ is None else self.environ
        value = environ.get(env_name)
        if not value:
            raise MissingSecretError(
                f"环境变量 {env_name} 未设置 / environment variable {env_name} is not set"
            )
        return SecretStr(value)


class ChannelBase(BaseModel):
    """Settings every channel has. Subclasses add their own and a ``kind`` literal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fallback: str | None = Field(
        default=None, description="备用渠道 / channel used when a recipient has no address here"
    )
    rate_limits: list[RateLimit] | None = Field(
        default=None, description="None: the service's documented limits"
    )
    max_attempts: int = Field(default=8, ge=1, le=100)
    contact: str | None = Field(
        default=None,
        description="Key in a person's contacts holding their address here; None: the kind's default",
    )
    groups: dict[str, str] = Field(
        default_factory=dict,
        description="Named groups this channel reaches, and the address of each "
        "(e-mail: a list address; robots: '' to post without @, 'all' to @all)",
    )
    digest_at: dt.time | None = Field(
        default=None, description="Daily digest time (local): one message per recipient per day"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Per kind: the service's documented limits, the default contact key, and whether sending
    # writes to the database in delivery's transaction (then it is exactly-once).
    default_rate_limits: ClassVar[tuple[RateLimit, ...]] = ()
    default_contact: ClassVar[str | None] = None
    transactional: ClassVar[bool] = False
    # Whether any group:NAME recipient is reachable without listing it in ``groups``.
    accepts_any_group: ClassVar[bool] = False
    # Environment variable names of this kind's secrets, for redaction and `notify channels`.
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def kind_name(self) -> str:
        return str(type(self).model_fields["kind"].default)

    def effective_rate_limits(self) -> list[RateLimit]:
        if self.rate_limits is not None:
            return list(self.rate_limits)
        return list(self.default_rate_limits)

    def contact_key(self) -> str | None:
        return self.contact if self.contact is not None else self.default_contact

    def secret_envs(self) -> list[str]:
        names = [getattr(self, name) for name in self.secret_fields]
        return [name for name in names if isinstance(name, str) and name]

    def send(self, message: Message, *, client: SendContext) -> Delivery:
        raise NotImplementedError


# --- helpers shared by the HTTP notifiers ---------------------------------------------------


def _origin_only(url: object) -> str:
    parsed = httpx.URL(str(url))
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/***"


class HideUrls(logging.Filter):
    """httpx logs every request's full URL at INFO. Robot URLs *are* secrets (DingTalk's
    access_token, WeCom's key, Feishu's hook id), so only the origin may reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _origin_only(arg)
                if isinstance(arg, httpx.URL)
                or (isinstance(arg, str) and arg.startswith(("http://", "https://")))
                else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(HideUrls())

_QUERY_SECRET = re.compile(r"(?i)((?:access_token|token|key|sign|secret|password)=)[^&\s\"']+")


def redact(text: str, secrets: Iterable[str]) -> str:
    """Remove secret values and token-looking query parameters from a text meant for humans.

    Notifiers build their error texts without URLs; this is the second line of defence for
    anything that slips through (a library's exception text quoting a URL).
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _QUERY_SECRET.sub(r"\1***", text)


def network_error(error: httpx.HTTPError) -> RetryableError:
    """A transport failure as a retryable error that names the failure, never the URL."""
    return RetryableError(f"网络错误 / network error: {type(error).__name__}", channel_down=True)


def retry_after_seconds(response: httpx.Response, header: str = "retry-after") -> float | None:
    value = response.headers.get(header)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def post_json(
    client: SendContext,
    url: str | httpx.URL,
    payload: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """POST JSON; transport failures become RetryableError, HTTP 5xx/429 too."""
    try:
        if content is not None:
            response = client.http.post(
                url,
                content=content,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                timeout=client.timeout,
            )
        else:
            response = client.http.post(
                url, json=payload, headers=headers or {}, timeout=client.timeout
            )
    except httpx.HTTPError as error:
        raise network_error(error) from None
    if response.status_code == 429:
        raise RetryableError(
            "HTTP 429 请求过多 / too many requests",
            retry_after=retry_after_seconds(response),
            throttled=True,
        )
    if response.status_code >= 500 or response.status_code in (408, 425):
        raise RetryableError(
            f"HTTP {response.status_code}",
            retry_after=retry_after_seconds(response),
            channel_down=True,
        )
    return response


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a chat API answer; a non-JSON answer is an error of its own."""
    if response.status_code >= 400:
        raise PermanentError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise RetryableError(
            f"HTTP {response.status_code}: 非 JSON 应答 / non-JSON answer"
        ) from None
    if not isinstance(data, dict):
        raise RetryableError(f"HTTP {response.status_code}: 应答格式错误 / unexpected answer")
    return data


def truncate_utf8(text: str, max_bytes: int, tail: str) -> str:
    """Cut ``text`` so that it plus ``tail`` fits ``max_bytes`` of UTF-8, on a character boundary."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(tail.encode("utf-8"))
    if room <= 0:
        return tail.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return encoded[:room].decode("utf-8", errors="ignore") + tail
