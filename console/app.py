"""The console application: server-rendered pages at /, the JSON API at /api.

The API is a mounted FastAPI app of its own so its OpenAPI document (/api/openapi.json)
describes exactly the automation surface, not the HTML forms. Interactive docs are off: the
Swagger UI loads its scripts from a CDN, and nothing the console serves may come from outside.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.deps import (
    ConsoleState,
    CsrfFailed,
    LoginRequired,
    make_templates,
    principal_if_any,
    render,
)
from console.security import Signer
from dualduty.settings import Settings, get_settings
from evidence.relatives import StoredRelatives
from models.session import get_engine, session_factory
from models.users import RelativesLookup, no_declared_relatives

STATIC = Path(__file__).with_name("static")

# Headers every response carries. The CSP allows only our own scripts and styles, so even an
# escaping bug could not run injected inline script.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class BodyTooLarge(Exception):
    pass


class GuardMiddleware:
    """Security headers on every response, and a hard cap on request bodies.

    The cap (upload limit + 1 MiB for the form around the file) stops an oversized upload
    before it is spooled to disk; uploads under the cap but over the limit get a precise
    message from the attachment route itself.
    """

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if b"cache-control" not in present and not scope["path"].startswith("/static/"):
                    # Case data must not linger in shared or browser caches.
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._drain(receive)
            await self._too_large(scope, send_with_headers)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await self._drain(receive)
            await self._too_large(scope, send_with_headers)

    async def _drain(self, receive: Receive) -> None:
        """Read the rest of the body and throw it away. Closing a socket with unread data makes
        the kernel send a reset, and the client would lose our 413 along with it. Nothing is
        kept, so an oversized upload costs bandwidth, never memory or disk."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    async def _too_large(self, scope: Scope, send: Send) -> None:
        limit_mb = (self.max_body - 1024 * 1024) / 1024 / 1024
        text = (
            f"请求过大：附件不得超过 {limit_mb:g} MB / request too large: "
            f"attachments may not exceed {limit_mb:g} MB"
        )
        body = text.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
    relatives: RelativesLookup | None = None,
) -> FastAPI:
    """Build the console. Tests pass their own settings and engine; ``dualduty serve`` uses
    the configured ones. ``relatives`` answers "whom has this person declared as relatives"
    for recusal; by default the personal-matters declarations in the evidence store, as the
    settings name them (``relatives_*``; ``relatives_type = ""`` switches it off)."""
    # Imported here: the route modules import the app's dependencies, not the reverse.
    from console.routes import api, assessments, auth, cases

    settings = settings or get_settings()
    if relatives is None:
        relatives = StoredRelatives.from_settings(settings) or no_declared_relatives
    state = ConsoleState(
        settings=settings,
        sessions=session_factory(engine or get_engine(settings.database_url)),
        signer=Signer(settings.secret_key.get_secret_value()),
        templates=make_templates(timezone=settings.timezone),
        relatives=relatives,
    )

    app = FastAPI(
        title="一岗双责监督执纪平台 / dualduty console",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.console = state
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(cases.router)
    app.include_router(assessments.router)

    api_app = FastAPI(
        title="dualduty API",
        description="一岗双责监督执纪平台 JSON API / dual-duty supervision console API",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api_app.state.console = state
    api_app.include_router(api.router)
    app.mount("/api", api_app)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, error: LoginRequired) -> Response:
        query = {"next": error.next_url} | ({"expired": "1"} if error.expired else {})
        return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, error: CsrfFailed) -> Response:
        return render(
            request,
            state,
            "error.html",
            principal=await run_in_threadpool(principal_if_any, request, state),
            context={
                "title": "请求已失效 / request rejected",
                "message": "表单校验码不正确或已过期，请刷新页面后重试。"
                " / The form's CSRF token is missing or wrong; reload the page and try again.",
            },
            status_code=403,
        )

    # Starlette's class, not FastAPI's subclass: FastAPI itself raises Starlette's (a form
    # that fails to parse, an unknown path), and those must get the same page.
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if isinstance(error.__cause__, BodyTooLarge):
            # FastAPI reports any failure while parsing a form as 400; say what really happened.
            return too_large_page(request, state)
        principal = await run_in_threadpool(principal_if_any, request, state)
        return render(
            request,
            state,
            "error.html",
            {"title": f"{error.status_code}", "message": str(error.detail)},
            principal=principal,
            status_code=error.status_code,
        )

    app.add_middleware(GuardMiddleware, max_body=state.upload_max_bytes + 1024 * 1024)
    return app


def too_large_page(request: Request, state: ConsoleState) -> Response:
    limit = f"{state.settings.upload_max_mb:g}"
    return render(
        request,
        state,
        "error.html",
        {
            "title": "附件过大 / attachment too large",
            "message": f"上传的文件超过 {limit} MB 的上限，请压缩或拆分后重新上传。"
            f" / The upload exceeds the {limit} MB limit; compress or split it and upload again.",
        },
        status_code=413,
    )
