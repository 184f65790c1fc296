"""Real loopback servers that behave like the services: a chat-API server and an SMTP server.

``ChatServer`` answers DingTalk, WeCom, Feishu and a generic webhook on one port. It verifies
signatures exactly as the services document them (DingTalk: ms timestamp, HMAC over
"T\\nsecret", base64, URL-encoded query; Feishu: seconds, HMAC keyed by "T\\nsecret" over an
empty message, base64 in the body), answers their real error codes, can be stopped and started
on the same port, and can be scripted to answer an error or to hang mid-request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DINGTALK_TOKEN = "dt-token-4f1c2a9e"
DINGTALK_SECRET = "SECdingtalk0secret0value0abcdef0123456789"
WECOM_KEY = "wecom-key-7d2b9c11"
FEISHU_HOOK = "feishu-hook-0b5e7c31"
FEISHU_SECRET = "feishu-secret-9a8b7c6d5e"
WEBHOOK_SECRET = "webhook-hmac-secret-1f2e3d"
WEBHOOK_PATH_TOKEN = "hook-path-token-5566"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Received:
    service: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    at: float  # on the server's time source


@dataclass
class Hang:
    """Scripted: accept the request (the robot posts it), then never answer until released."""


@dataclass
class ChatServer:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    requests: list[tuple[str, float]] = field(default_factory=list)  # every request, any outcome
    scripted: dict[str, deque[Any]] = field(default_factory=dict)
    webhook_seen: set[str] = field(default_factory=set)
    webhook_duplicates: list[str] = field(default_factory=list)
    # When set, the server enforces the services' documented rate limits on this clock
    # (so a test on an injected clock can check that delivery never goes over them).
    time_source: Callable[[], float] | None = None
    enforce_limits: bool = False
    hanging: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> ChatServer:
        self.release.clear()
        handler = _make_handler(self)
        for _ in range(50):
            try:
                server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
                break
            except OSError:  # the port is still in TIME_WAIT after a stop
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cannot bind 127.0.0.1:{self.port}")
        server.daemon_threads = True
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "T_DINGTALK_URL": f"{self.base}/robot/send?access_token={DINGTALK_TOKEN}",
            "T_DINGTALK_SECRET": DINGTALK_SECRET,
            "T_WECOM_URL": f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}",
            "T_FEISHU_URL": f"{self.base}/open-apis/bot/v2/hook/{FEISHU_HOOK}",
            "T_FEISHU_SECRET": FEISHU_SECRET,
            "T_WEBHOOK_URL": f"{self.base}/hooks/{WEBHOOK_PATH_TOKEN}",
            "T_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }

    def script(self, service: str, *answers: Any) -> None:
        with self.lock:
            self.scripted.setdefault(service, deque()).extend(answers)

    def of(self, service: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.service == service]

    def now(self) -> float:
        return self.time_source() if self.time_source else time.time()


def _make_handler(state: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/robot/send":
                self._dingtalk(query, raw)
            elif url.path == "/cgi-bin/webhook/send":
                self._wecom(query, raw)
            elif url.path.startswith("/open-apis/bot/v2/hook/"):
                self._feishu(url.path.rsplit("/", 1)[1], raw)
            elif url.path == f"/hooks/{WEBHOOK_PATH_TOKEN}":
                self._webhook(raw)
            else:
                self._answer(404, {"error": "not found"})

        def _scripted(self, service: str) -> Any:
            with state.lock:
                queue = state.scripted.get(service)
                return queue.popleft() if queue else None

        def _accept(self, service: str, raw: bytes, body: dict[str, Any]) -> bool:
            """Record a valid request; returns False when the caller should not answer (hang)."""
            answer = self._scripted(service)
            if isinstance(answer, Hang):
                with state.lock:
                    if service == "webhook":  # the receiver processed it, then the answer got lost
                        state.webhook_seen.add(self.headers.get("Idempotency-Key", ""))
                    state.received.append(
                        Received(service, dict(self.headers), body, raw, state.now())
                    )
                state.hanging.set()
                state.release.wait(30)
                self.close_connection = True
                return False
            if answer is not None:
                status, payload, *headers = answer
                self._answer(status, payload, headers[0] if headers else None)
                return False
            with state.lock:
                state.received.append(Received(service, dict(self.headers), body, raw, state.now()))
            return True

        def _over_limit(self, service: str, limits: list[tuple[int, float]]) -> bool:
            if not state.enforce_limits:
                return False
            now = state.now()
            with state.lock:
                times = [at for s, at in state.requests if s == service]
                for count, seconds in limits:
                    if len([t for t in times if t > now - seconds]) >= count:
                        return True
                state.requests.append((service, now))
            return False

        def _dingtalk(self, query: dict[str, str], raw: bytes) -> None:
            if query.get("access_token") != DINGTALK_TOKEN:
                return self._answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
            timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
                return self._answer(200, {"errcode": 310000, "errmsg": "sign not match, timestamp"})
            string_to_sign = f"{timestamp}\n{DINGTALK_SECRET}".encode()
            expected = base64.b64encode(
                hmac.new(DINGTALK_SECRET.encode(), string_to_sign, hashlib.sha256).digest()
            ).decode()
            if not hmac.compare_digest(expected, sign):
                return self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
            if self._over_limit("dingtalk", [(20, 60)]):
                return self._answer(
                    200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
                )
            body = json.loads(raw)
            if body.get("msgtype") not in {"markdown", "actionCard", "text"}:
                return self._answer(200, {"errcode": 40035, "errmsg": "缺少参数 json"})
            if self._accept("dingtalk", raw, body):
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

        def _wecom(self, query: dict[str, str], raw: bytes) -> None:
            if query.get("key") != WECOM_KEY:
                return self._answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
            body = json.loads(raw)
            content = body.get("markdown", {}).get("content", "")
            if len(content.encode("utf-8")) > 4096:
                return self._answer(
                    200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
                )
            if self._over_limit("wecom", [(20, 60)]):
                return self._answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
            if self._accept("wecom", raw, body):
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

        def _feishu(self, hook: str, raw: bytes) -> None:
            if hook != FEISHU_HOOK:
                return self._answer(
                    404,
                    {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
                )
            if len(raw) > 20 * 1024:
                return self._answer(400, {"code": 9499, "msg": "Bad Request"})
            body = json.loads(raw)
            timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            key = f"{timestamp}\n{FEISHU_SECRET}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if (
                not timestamp.isdigit()
                or abs(time.time() - int(timestamp)) > 3600
                or not hmac.compare_digest(expected, sign)
            ):
                return self._answer(
                    200,
                    {
                        "code": 19021,
                        "msg": "sign match fail or timestamp is not within one hour from current time",
                    },
                )
            if self._over_limit("feishu", [(5, 1), (100, 60)]):
                return self._answer(200, {"code": 11232, "msg": "frequency limited"})
            if self._accept("feishu", raw, body):
                self._answer(200, {"code": 0, "msg": "success", "data": {}})

        def _webhook(self, raw: bytes) -> None:
            expected = (
                "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            )
            if not hmac.compare_digest(expected, self.headers.get("X-Dualduty-Signature", "")):
                return self._answer(401, {"error": "bad signature"})
            key = self.headers.get("Idempotency-Key", "")
            with state.lock:
                duplicate = key in state.webhook_seen
                if duplicate:
                    state.webhook_duplicates.append(key)
            if duplicate:
                return self._answer(409, {"error": "duplicate", "id": key})
            if self._accept("webhook", raw, json.loads(raw)):
                with state.lock:
                    state.webhook_seen.add(key)
                self._answer(200, {"ok": True})

    return Handler


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class SmtpHandler:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"
