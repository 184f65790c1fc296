"""``dualduty serve``: the inspectors' console and JSON API under uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn

from dualduty.cli.console import err_console, out
from dualduty.settings import Settings, get_settings

if TYPE_CHECKING:
    from evidence.relatives import StoredRelatives


def declared_relatives(settings: Settings) -> StoredRelatives | None:
    """The relatives lookup for recusal, checked against the stored declarations before the
    console starts: a misconfigured field stops it (exit 2) rather than recusing nobody."""
    from evidence.relatives import StoredRelatives
    from models.session import session_scope

    relatives = StoredRelatives.from_settings(settings)
    if relatives is None:
        err_console.print(
            "提示 / note: DUALDUTY_RELATIVES_TYPE 为空，不按申报亲属回避 / empty: "
            "no recusal by declared relatives."
        )
        return None
    with session_scope() as session:
        for problem in relatives.check(session):
            err_console.print(f"提示 / note: {problem}", markup=False, highlight=False)
    return relatives


def serve(
    host: Annotated[
        str, typer.Option("--host", help="监听地址 / address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8000,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            "--forwarded-allow-ips",
            help="可信反向代理 / proxies trusted for X-Forwarded-For/-Proto (https, client address)",
        ),
    ] = "127.0.0.1",
) -> None:
    """启动监督执纪控制台 / start the inspectors' console (pages at /, API at /api)."""
    settings = get_settings()
    if not settings.secret_key.get_secret_value():
        err_console.print(
            "提示 / note: DUALDUTY_SECRET_KEY 未设置，重启后所有会话失效 / "
            "not set: sessions end whenever the console restarts."
        )
    # Imported here: FastAPI and the templates cost half a second that other commands skip.
    from console.app import create_app
    from models.users import no_declared_relatives

    relatives = declared_relatives(settings)
    app = create_app(settings=settings, relatives=relatives or no_declared_relatives)
    out.print(
        f"控制台 / console: http://{host}:{port}/  ·  API: http://{host}:{port}/api/openapi.json"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="info",
    )
