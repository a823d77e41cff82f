"""The local console chat: lines from stdin, replies with numbered buttons. Works with a pipe, so a
transcript can be scripted: `printf '/start\n1\n' | credit-bot chat --as driver`."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.engine import Engine
from bot.replies import Button, Event, IncomingFile, Reply
from notifications.delivery import OutgoingMessage
from notifications.dispatcher import Dispatcher

CHANNEL = "console"


def render(reply: Reply, out: TextIO, first_number: int = 1) -> list[Button]:
    """Print one reply; return its buttons in the order of their numbers. Numbers continue across the
    messages of one turn, so a notice's button and the menu's stay pickable together."""
    out.write("\n" + reply.text + "\n")
    buttons = [b for row in reply.buttons for b in row]
    if buttons:
        n = first_number - 1
        for row in reply.buttons:
            cells = []
            for b in row:
                n += 1
                cells.append(f"[{n}] {b.label}")
            out.write("  " + "   ".join(cells) + "\n")
    if reply.document is not None:
        out.write(f"📎 {reply.document.file_name} ({len(reply.document.content)} bytes)\n")
    return buttons


class ConsoleSender:
    """Delivers this persona's outbox notices into the terminal (the dispatcher's Sender contract)."""

    channel = CHANNEL

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.buttons: list[Button] = []  # the pickable buttons, replies' and notices' alike
        self.printed = False  # a notice was printed since the last prompt

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        rows = [[Button(b.label, b.data) for b in row] for row in message.buttons]
        self.buttons += render(Reply("📨 " + message.text, rows), self.out, len(self.buttons) + 1)
        self.printed = True


def pick_button(line: str, buttons: list[Button], *, expects_text: bool = False) -> Button | None:
    """ "[3]" always presses button 3; a bare number only when no text is asked for (a fine of "3" is
    text); a label typed out in full (without its emoji) presses that button."""
    number = line[1:-1] if line.startswith("[") and line.endswith("]") else None
    if number is None and line.isdigit() and not expects_text:
        number = line
    if number is not None and number.isdigit() and 1 <= int(number) <= len(buttons):
        return buttons[int(number) - 1]
    for b in buttons:
        if line and (line == b.label or line == b.label.split(" ", 1)[-1]):
            return b
    return None


def local_file(path_text: str) -> IncomingFile:
    path = Path(path_text).expanduser()

    async def fetch() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    size = path.stat().st_size if path.is_file() else None
    return IncomingFile(
        path.name, mimetypes.guess_type(path.name)[0], size, fetch if size is not None else None
    )


def _read_lines(inp: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines from a daemon thread, so Ctrl-C ends the chat at once instead of waiting for a line."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed first: the chat is over anyway
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def run() -> None:
        for raw in iter(inp.readline, ""):
            put(raw)
        put(None)

    threading.Thread(target=run, name="console-input", daemon=True).start()
    return queue


async def chat(
    app: App,
    persona: str,
    inp: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    first: str | None = "/start",
    poll_seconds: float = 1.0,
) -> None:
    engine = app.engine
    sender = ConsoleSender(out)
    notices = app.dispatcher({CHANNEL: sender}, chat_id=persona)
    echo = not inp.isatty()  # a piped transcript shows what was typed
    out.write(
        f"信用交通助手 · 本地对话（身份：{persona}）。输入数字选择按钮（需要填写内容时输入 [数字]），"
        "/file 路径 发送文件，/quit 退出。\n"
    )
    turn = asyncio.Lock()  # a turn's reply and the notices it causes print together
    expects_text = False

    async def pump() -> None:
        """Notices caused elsewhere (staff in another terminal, the scheduler) print as they arrive."""
        while True:
            await asyncio.sleep(poll_seconds)
            async with turn:
                await notices.drain()
                if sender.printed:
                    sender.printed = False
                    out.write("\n> ")
                out.flush()

    lines = _read_lines(inp, asyncio.get_running_loop())
    poller = asyncio.create_task(pump())
    pending = [first] if first else []
    try:
        while True:
            if pending:
                line = pending.pop()
            else:
                out.write("\n> ")
                out.flush()
                raw = await lines.get()
                if raw is None:
                    out.write("\n")
                    return
                line = raw.rstrip("\n")
                if echo:
                    out.write(line + "\n")
            if line.strip() in ("/quit", "/exit"):
                return
            async with turn:
                expects_text = await _turn(engine, notices, sender, persona, line, out, expects_text)
                sender.printed = False
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller


async def _turn(
    engine: Engine,
    notices: Dispatcher,
    sender: ConsoleSender,
    persona: str,
    line: str,
    out: TextIO,
    expects_text: bool,
) -> bool:
    """One line in, its replies and notices out; returns whether the chat now waits for typed text."""
    base = {"channel": CHANNEL, "chat_id": persona, "user_id": persona}
    chosen = pick_button(line.strip(), sender.buttons, expects_text=expects_text)
    if chosen is not None:
        event = Event(**base, callback=chosen.data)
    elif line.startswith("/file "):
        event = Event(**base, file=local_file(line[6:].strip()))
    else:
        event = Event(**base, text=line)
    outcome = await engine.handle(event)
    if outcome.callback_notice and not outcome.replies:
        out.write(f"（{outcome.callback_notice}）\n")
    shown: list[Button] = []
    for reply in outcome.replies:
        shown += render(reply, out, len(shown) + 1)
    if shown:  # a reply without buttons leaves the earlier ones pickable
        sender.buttons = shown
    await notices.drain()  # notices to this persona (三书同达, decisions) show up after the reply
    out.flush()
    return outcome.expects_text
