"""The README's run command, played as a user would: load the demo, bind a driver in the console chat
through a pipe, read the assessment; plus the CLI's code and staff commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "TELEGRAM_BOT_TOKEN": ""}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_demo_then_console_chat_binds_a_driver_and_reads_the_assessment(tmp_path: Path) -> None:
    demo = _cli(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "DRVA2468" in demo.stdout
    chat = _cli(tmp_path, "chat", "--as", "guest", stdin="DRVA2468\n1\n")
    assert chat.returncode == 0, chat.stderr
    assert "绑定成功" in chat.stdout
    assert "已扣分：8 / 20（剩余 12 分）" in chat.stdout
    assert "370402198506123417" not in chat.stdout + chat.stderr  # masked everywhere


def test_code_issue_and_staff_add(tmp_path: Path) -> None:
    assert _cli(tmp_path, "demo").returncode == 0
    code = _cli(tmp_path, "code", "issue", "--uscc", "91370402MA3C4K7D2E")
    assert code.returncode == 0, code.stderr
    assert len(code.stdout.strip()) == 8
    staff = _cli(tmp_path, "staff", "add", "王五", "执法支队", "--role", "reviewer")
    assert staff.returncode == 0, staff.stderr
    staff_code = _cli(tmp_path, "code", "issue", "--staff-id", staff.stdout.strip())
    chat = _cli(tmp_path, "chat", "--as", "wang", stdin=f"{staff_code.stdout.strip()}\n")
    assert "工作人员 王五" in chat.stdout


def test_run_without_token_explains_how_to_start(tmp_path: Path) -> None:
    out = _cli(tmp_path, "run")
    assert out.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in out.stdout and "credit-bot chat" in out.stdout
