"""A JSON API of another system (智慧党建, 易快报, OA): auth, pages, retries.

Secrets (tokens, passwords, a URL with a key in it) are read from environment variables named
in the config and are scrubbed from every message this module writes and from httpx's own
request log lines.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dualduty.errors import RunError, UserError
from dualduty.problems import Location, Problem
from evidence.sources.base import BaseSource, FetchContext, RawRecord, lookup

log = logging.getLogger(__name__)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BearerAuth(_Config):
    """``Authorization: Bearer <token>``."""

    kind: Literal["bearer"]
    token_env: str


class BasicAuth(_Config):
    kind: Literal["basic"]
    username_env: str
    password_env: str


class HeaderAuth(_Config):
    """An API-key header such as ``X-Api-Key``."""

    kind: Literal["header"]
    header: str
    value_env: str


class QueryAuth(_Config):
    """An API key in the query string (``access_token=…``), as many Chinese SaaS APIs want."""

    kind: Literal["query"]
    param: str
    value_env: str


Auth = Annotated[BearerAuth | BasicAuth | HeaderAuth | QueryAuth, Field(discriminator="kind")]


class PagePagination(_Config):
    """``?page=1&page_size=100``, until a page has fewer records than ``size``."""

    kind: Literal["page"]
    param: str = "page"
    start: int = 1
    size_param: str | None = "page_size"
    size: int = Field(default=100, gt=0)


class OffsetPagination(_Config):
    """``?offset=0&limit=100``, until a page has fewer records than ``limit``."""

    kind: Literal["offset"]
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, gt=0)


class CursorPagination(_Config):
    """The answer names the next cursor (``next``, a JSON path); sent back as ``param``."""

    kind: Literal["cursor"]
    param: str = "cursor"
    next: str = Field(description="JSON path of the next cursor in the answer, e.g. data.next")


class NextLinkPagination(_Config):
    """The answer carries the URL of the next page (``next``, a JSON path)."""

    kind: Literal["next_link"]
    next: str = Field(description="JSON path of the next page's URL, e.g. links.next")


Pagination = Annotated[
    PagePagination | OffsetPagination | CursorPagination | NextLinkPagination,
    Field(discriminator="kind"),
]


class HttpSource(BaseSource):
    """Records from a JSON API.

    Timeouts, connection errors, 429 and 5xx answers are retried ``retries`` times with
    exponential backoff (``backoff`` × 2ⁿ seconds, at most ``backoff_max``; a 429's
    Retry-After is honoured within that cap). Anything else that is not JSON is an error
    naming the source.

    ```yaml
    source:
      kind: http
      url: https://dangjian.example.com/api/v1/meetings
      params: {year: 2026}
      auth: {kind: bearer, token_env: DANGJIAN_TOKEN}
      records: data.items
      pagination: {kind: page, param: page, size_param: pageSize, size: 200}
      map: {unit: orgCode, kind: meetingType, held_on: meetingDate}
    ```
    """

    fixed_columns: ClassVar[bool] = False

    kind: Literal["http"] = "http"
    url: str | None = None
    url_env: str | None = Field(
        default=None, description="Environment variable holding the URL (when it carries a key)"
    )
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    body: dict[str, Any] | None = Field(default=None, description="JSON body for POST")
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Auth | None = None
    records: str = Field(
        default="", description="JSON path to the list of records (data.items); empty: the answer"
    )
    pagination: Pagination | None = None
    timeout: float = Field(default=30, gt=0, description="Seconds per request")
    retries: int = Field(default=3, ge=0)
    backoff: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    max_pages: int = Field(default=10_000, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "http" in data and "url" not in data:
            data = {k: v for k, v in data.items() if k != "http"} | {"url": data["http"]}
            data.setdefault("kind", "http")
        return data

    @model_validator(mode="after")
    def _one_url(self) -> HttpSource:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of `url` and `url_env`")
        if self.url is not None and (urlsplit(self.url).password or urlsplit(self.url).query):
            raise ValueError(
                "the url carries a password or query string: put secrets in the environment "
                "(url_env or auth) and plain parameters in `params`"
            )
        return self

    def fetch(self, ctx: FetchContext) -> Iterator[RawRecord]:
        call = _Call(self, ctx)
        with _redacting(call.secrets):
            if ctx.http is not None:
                yield from call.pages(ctx.http)
            else:
                with httpx.Client(follow_redirects=False) as client:
                    yield from call.pages(client)


class _Call:
    """One fetch: resolved secrets, the safe label of the source, the page loop."""

    def __init__(self, source: HttpSource, ctx: FetchContext) -> None:
        self.source = source
        self.ctx = ctx
        self.name = ctx.source_name
        self.secrets: list[str] = []
        self.url = source.url or self._env(source.url_env or "", "url_env")
        if source.url_env:
            self.secrets.append(self.url)
            parts = urlsplit(self.url)
            self.secrets.extend(s for s in (parts.password, parts.query) if s)
        self.label = f"${source.url_env}" if source.url_env else _safe_url(self.url)
        self.headers = dict(source.headers)
        # httpx replaces a URL's query with ``params``: carry the URL's own query over.
        url = httpx.URL(self.url)
        self.params: dict[str, Any] = dict(url.params) | dict(source.params)
        self.url = str(url.copy_with(query=None))
        self.auth: httpx.BasicAuth | None = None
        match source.auth:
            case BearerAuth(token_env=env):
                self.headers["Authorization"] = f"Bearer {self._secret(env, 'auth.token_env')}"
            case BasicAuth(username_env=user_env, password_env=password_env):
                user = self._env(user_env, "auth.username_env")
                password = self._secret(password_env, "auth.password_env")
                self.auth = httpx.BasicAuth(user, password)
                self.secrets.append(base64.b64encode(f"{user}:{password}".encode()).decode())
            case HeaderAuth(header=header, value_env=env):
                self.headers[header] = self._secret(env, "auth.value_env")
            case QueryAuth(param=param, value_env=env):
                self.params[param] = self._secret(env, "auth.value_env")
            case None:
                pass

    def _env(self, variable: str, key: str) -> str:
        value = self.ctx.env.get(variable)
        if not value:
            raise UserError(
                [
                    Problem(
                        message=f"环境变量 {variable} 未设置 / environment variable {variable} is not set",
                        field=f"source {self.name}.{key}",
                        hint="secrets come from the environment, never from rule files",
                    )
                ]
            )
        return value

    def _secret(self, variable: str, key: str) -> str:
        value = self._env(variable, key)
        # As given, and as it appears percent-encoded in a logged URL.
        self.secrets.extend({value, quote(value, safe=""), quote_plus(value)})
        return value

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def fail(self, message: str) -> RunError:
        return RunError(self.redact(f"HTTP 来源 {self.name} ({self.label}): {message}"))

    def pages(self, client: httpx.Client) -> Iterator[RawRecord]:
        source = self.source
        pagination = source.pagination
        url = self.url
        page_params: dict[str, Any] = {}
        match pagination:
            case PagePagination():
                page_params = {pagination.param: pagination.start}
                if pagination.size_param:
                    page_params[pagination.size_param] = pagination.size
            case OffsetPagination():
                page_params = {pagination.param: 0, pagination.limit_param: pagination.limit}
        index = 0
        for page in range(1, source.max_pages + 1):
            body = self.request(client, url, page_params)
            items = self.records_of(body, page)
            for position, item in enumerate(items, start=1):
                index += 1
                location = Location(file=f"{self.name}#{index}", line=page, column=position)
                if not isinstance(item, Mapping):
                    raise self.fail(
                        f"第 {page} 页第 {position} 条记录不是对象 / record {position} of page {page} "
                        f"is not a JSON object but {type(item).__name__}"
                    )
                yield RawRecord(values=item, location=location)
            match pagination:
                case None:
                    return
                case PagePagination():
                    if len(items) < pagination.size:
                        return
                    page_params[pagination.param] += 1
                case OffsetPagination():
                    if len(items) < pagination.limit:
                        return
                    page_params[pagination.param] += len(items)
                case CursorPagination():
                    found, cursor = (
                        lookup(body, pagination.next)
                        if isinstance(body, Mapping)
                        else (False, None)
                    )
                    if not found or cursor in (None, "") or not items:
                        return
                    page_params = {pagination.param: cursor}
                case NextLinkPagination():
                    found, link = (
                        lookup(body, pagination.next)
                        if isinstance(body, Mapping)
                        else (False, None)
                    )
                    if not found or not link:
                        return
                    url = self.next_url(url, str(link))
                    page_params = {}
        raise self.fail(
            f"超过最大页数 {source.max_pages} / more than max_pages={source.max_pages} pages "
            "(the API may ignore the pagination parameters)"
        )

    def next_url(self, current: str, link: str) -> str:
        target = httpx.URL(current).join(link)
        here = httpx.URL(current)
        # Credentials go with every request: never follow a link to another origin.
        if (target.scheme, target.host, target.port) != (here.scheme, here.host, here.port):
            raise self.fail(
                f"下一页链接指向其他站点 / the next-page link points to another origin "
                f"({target.scheme}://{target.host}); refusing to send credentials there"
            )
        return str(target)

    def request(self, client: httpx.Client, url: str, page_params: dict[str, Any]) -> Any:
        source = self.source
        # A next-page link carries its own query; the configured one (and a query key) stays.
        target = httpx.URL(url)
        params = self.params | dict(target.params)
        url = str(target.copy_with(query=None))
        body = dict(source.body) if source.body is not None else None
        if source.method == "POST" and body is not None:
            body.update(page_params)
        else:
            params.update(page_params)
        attempts = source.retries + 1
        last = ""
        asked: float | None = None  # a 429's Retry-After replaces the backoff once
        for attempt in range(attempts):
            if attempt:
                backoff = source.backoff * 2 ** (attempt - 1)
                delay = min(asked if asked is not None else backoff, source.backoff_max)
                asked = None
                log.warning(
                    "%s: retry %d/%d in %.2fs after %s",
                    self.name,
                    attempt,
                    source.retries,
                    delay,
                    last,
                )
                time.sleep(delay)
            try:
                response = client.request(
                    source.method,
                    url,
                    params=params,
                    json=body if source.method == "POST" else None,
                    headers=self.headers,
                    auth=self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=source.timeout,
                )
            except httpx.TimeoutException:
                last = f"超时 / timed out after {source.timeout}s"
                continue
            except httpx.TransportError as error:
                last = f"连接失败 / connection failed ({type(error).__name__})"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                asked = _retry_after(response)
                continue
            if response.status_code >= 400:
                hint = (
                    " (check the credentials in the environment)"
                    if response.status_code in {401, 403}
                    else ""
                )
                raise self.fail(f"HTTP {response.status_code} {response.reason_phrase}{hint}")
            try:
                return response.json()
            except ValueError:
                kind = response.headers.get("content-type", "?")
                start = response.text[:80].replace("\n", " ")
                raise self.fail(
                    f"回答不是 JSON / the answer is not JSON (content-type {kind}; begins {start!r})"
                ) from None
        raise self.fail(f"{attempts} 次尝试均失败 / failed after {attempts} attempts; last: {last}")

    def records_of(self, body: Any, page: int) -> list[Any]:
        path = self.source.records
        if path:
            found, items = lookup(body, path) if isinstance(body, Mapping) else (False, None)
            if not found:
                keys = (
                    ", ".join(map(str, body)) if isinstance(body, Mapping) else type(body).__name__
                )
                raise self.fail(
                    f"第 {page} 页回答中没有 {path!r} / no {path!r} in the answer of page {page} (top level: {keys})"
                )
        else:
            items = body
        if items is None:
            return []
        if not isinstance(items, list):
            raise self.fail(
                f"{path or '回答 / the answer'} 不是列表 / is not a list but {type(items).__name__}"
            )
        return items


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class _RedactFilter(logging.Filter):
    """Scrubs the secrets of running fetches from httpx's ``HTTP Request: GET <url>`` lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.active: dict[int, list[str]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            secrets = [s for group in self.active.values() for s in group]
        if secrets:
            message = record.getMessage()
            for secret in sorted(secrets, key=len, reverse=True):
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


_FILTER = _RedactFilter()
for _name in ("httpx", "httpcore", __name__):
    logging.getLogger(_name).addFilter(_FILTER)


@contextmanager
def _redacting(secrets: list[str]) -> Iterator[None]:
    token = object()
    with _FILTER.lock:
        _FILTER.active[id(token)] = list(secrets)
    try:
        yield
    finally:
        with _FILTER.lock:
            _FILTER.active.pop(id(token), None)
