"""``dualduty users …`` and ``dualduty serve --help`` through the real typer app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from dualduty.cli import app
from dualduty.cli.console import out
from models import users
from models.session import get_engine
from tests.console.conftest import PASSWORD, seed_org

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich fits tables to the terminal, and the shared console's width is fixed by whichever
    test created it; set it, so cells are not folded where we look for them."""
    monkeypatch.setattr(out, "width", 200)


def _prepare() -> None:
    engine = get_engine()
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        seed_org(session)
        session.commit()


def test_users_lifecycle(db_env: str) -> None:
    _prepare()
    added = runner.invoke(
        app,
        [
            "users",
            "add",
            "zhang",
            "--role",
            "inspector",
            "--name",
            "张纪检",
            "--jurisdiction",
            "M1",
            "--person",
            "P-INSP1",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "张纪检" in added.output and "M1" in added.output

    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0 and "zhang" in listed.output and "inspector" in listed.output

    moved = runner.invoke(app, ["users", "role", "zhang", "viewer", "--jurisdiction", "M2"])
    assert moved.exit_code == 0, moved.output
    assert runner.invoke(app, ["users", "disable", "zhang"]).exit_code == 0

    with Session(get_engine()) as session:
        user = users.get_by_username_or_raise(session, username="zhang")
        assert (user.role, user.jurisdiction, user.disabled) == ("viewer", "M2", True)
        assert user.password_hash and users.verify_password(user=user, password=PASSWORD)


def test_bad_input_is_a_user_error(db_env: str) -> None:
    _prepare()
    no_scope = runner.invoke(app, ["users", "add", "li", "--role", "inspector", "--no-password"])
    assert no_scope.exit_code != 0
    assert "jurisdiction" in str(no_scope.exception)
    unknown_unit = runner.invoke(
        app, ["users", "add", "li", "--role", "viewer", "--jurisdiction", "ZZ", "--no-password"]
    )
    assert "ZZ" in str(unknown_unit.exception)
    short = runner.invoke(
        app, ["users", "add", "li", "--role", "admin", "--password-stdin"], input="short\n"
    )
    assert "too short" in str(short.exception)


def test_tokens_are_shown_once_and_listed_by_prefix(db_env: str) -> None:
    _prepare()
    runner.invoke(app, ["users", "add", "bot", "--role", "admin", "--no-password"])
    created = runner.invoke(app, ["users", "token", "create", "bot", "--name", "nightly"])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("dd_")
    listed = runner.invoke(app, ["users", "token", "list"])
    assert "nightly" in listed.output and plaintext[:10] in listed.output
    assert plaintext not in listed.output
    assert runner.invoke(app, ["users", "token", "revoke", "1"]).exit_code == 0
    assert "已吊销" in runner.invoke(app, ["users", "token", "list"]).output


def test_serve_help() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


def test_serve_runs_the_console(db_env: str, tmp_path: Path) -> None:
    """``dualduty serve`` as an operator starts it: a process answering on a loopback port."""
    _prepare()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"DUALDUTY_SECRET_KEY": "serve-test-key-0123456789"}
    dualduty = Path(sys.executable).with_name("dualduty")
    process = subprocess.Popen(
        [str(dualduty), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "console did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and "登录" in response.text
        assert "server" not in response.headers  # no version banner
        spec = httpx.get(f"http://127.0.0.1:{port}/api/openapi.json").json()
        assert "/cases" in spec["paths"]
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert f"http://127.0.0.1:{port}/" in output
