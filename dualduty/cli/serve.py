"""``dualduty serve``: the inspectors' console and JSON API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from dualduty.cli.console import err_console, out
from dualduty.settings import get_settings


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

    app = create_app(settings=settings)
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
