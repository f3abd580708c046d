"""``python app.py`` on a fresh machine: creates ./chestx-data, migrates, seeds the demo, serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.app.conftest import ROOT, first_answer, free_port, output_until


@pytest.mark.slow
def test_python_app_py_starts_the_demo_from_nothing(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHESTX_")}
    env |= {"CHESTX_PORT": str(port), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = output_until(proc, "demo /")  # the credentials line comes last, after the URL
        assert f"http://127.0.0.1:{port}/" in out and "demo / chestx-demo" in out, out
        assert (tmp_path / "chestx-data" / "chestx.sqlite3").is_file()
        page = first_answer(f"http://127.0.0.1:{port}/login", process=proc)
        assert page is not None, "the server never answered"
        assert page.status_code == 200 and "chestx-demo" in page.text  # the login page shows the demo hint
        form = {"username": "demo", "password": "chestx-demo"}
        assert httpx.post(f"http://127.0.0.1:{port}/login", data=form).status_code == 303
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_chestx_serve_is_a_command() -> None:
    from chestx.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--no-demo" in result.output and "--port" in result.output
