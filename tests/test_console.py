"""The console chat as a person at a terminal uses it (issue #9): a number typed where text is asked is
text, notices print while the chat waits for input, Ctrl-C leaves at once, and no log line shows."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.app import App
from bot.channels.console import chat
from workflows.notices import enqueue


async def _until(out: io.StringIO, text: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in out.getvalue():
        assert loop.time() < deadline, f"{text!r} never appeared in:\n{out.getvalue()[-800:]}"
        await asyncio.sleep(0.02)


async def test_a_number_is_text_where_text_is_asked_and_notices_arrive_while_waiting(demo: App) -> None:
    read_end, write_end = os.pipe()
    inp, feed = os.fdopen(read_end, "r"), os.fdopen(write_end, "w")
    out = io.StringIO()
    task = asyncio.create_task(chat(demo, "walkin", inp, out, poll_seconds=0.05))
    try:
        await _until(out, "输入绑定码")
        feed.write("1\n")  # at the menu a number presses button 1
        feed.flush()
        await _until(out, "请输入工作人员提供的 8 位绑定码")
        feed.write("3\n")  # where a code is asked, "3" is what was typed
        feed.flush()
        await _until(out, "绑定码不正确")
        feed.write("[1]\n")  # [n] presses a button even here
        feed.flush()
        await _until(out, "请选择")

        async with demo.sessions() as s, s.begin():
            await enqueue(
                s,
                channel="console",
                chat_id="walkin",
                template="binding_decided",
                context={"approved": False, "subject_name": "", "reason": "无法核实"},
                dedupe_key="test:console-push",
                now=demo.engine.services.clock.now(),
            )
        await _until(out, "您的绑定申请未通过")  # printed with no line typed
    finally:
        feed.close()
        await asyncio.wait_for(task, 10)


def test_ctrl_c_leaves_at_once_and_no_log_lines_show(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "TELEGRAM_BOT_TOKEN": ""}
    demo = subprocess.run([sys.executable, "-m", "bot", "demo"], env=env, cwd=tmp_path, capture_output=True)
    assert demo.returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--as", "guest"],
        stdin=subprocess.PIPE,  # kept open: the chat is waiting for a line when Ctrl-C comes
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    assert proc.stdout is not None
    seen = ""
    while "请选择" not in seen:
        line = proc.stdout.readline()
        assert line, "the chat ended before its menu"
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "再见" in out and "Traceback" not in err
    assert "INFO" not in err and "WARNING" not in err
