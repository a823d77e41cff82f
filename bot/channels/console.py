"""The local console chat: lines from stdin, replies with numbered buttons. Works with a pipe, so a
transcript can be scripted: `printf '/start\n1\n' | credit-bot chat --as driver`."""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.replies import Button, Event, IncomingFile, Reply
from notifications.delivery import OutgoingMessage

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
        self.buttons: list[Button] = []  # this turn's buttons, replies' and notices' alike

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        rows = [[Button(b.label, b.data) for b in row] for row in message.buttons]
        self.buttons += render(Reply("📨 " + message.text, rows), self.out, len(self.buttons) + 1)


def pick_button(line: str, buttons: list[Button]) -> Button | None:
    """A number, or a label typed out in full (without its emoji)."""
    if line.isdigit() and 1 <= int(line) <= len(buttons):
        return buttons[int(line) - 1]
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


async def chat(
    app: App,
    persona: str,
    inp: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    first: str | None = "/start",
) -> None:
    engine = app.engine
    sender = ConsoleSender(out)
    notices = app.dispatcher({CHANNEL: sender}, chat_id=persona)
    echo = not inp.isatty()  # a piped transcript shows what was typed
    out.write(
        f"信用交通助手 · 本地对话（身份：{persona}）。输入数字选择按钮，/file 路径 发送文件，/quit 退出。\n"
    )
    buttons: list[Button] = []
    pending = [first] if first else []
    while True:
        if pending:
            line = pending.pop()
        else:
            out.write("\n> ")
            out.flush()
            raw = await asyncio.to_thread(inp.readline)
            if raw == "":
                out.write("\n")
                return
            line = raw.rstrip("\n")
            if echo:
                out.write(line + "\n")
        if line.strip() in ("/quit", "/exit"):
            return
        event = Event(channel=CHANNEL, chat_id=persona, user_id=persona)
        chosen = pick_button(line.strip(), buttons)
        if chosen is not None:
            event = Event(channel=CHANNEL, chat_id=persona, user_id=persona, callback=chosen.data)
        elif line.startswith("/file "):
            event = Event(
                channel=CHANNEL, chat_id=persona, user_id=persona, file=local_file(line[6:].strip())
            )
        else:
            event = Event(channel=CHANNEL, chat_id=persona, user_id=persona, text=line)
        outcome = await engine.handle(event)
        if outcome.callback_notice and not outcome.replies:
            out.write(f"（{outcome.callback_notice}）\n")
        sender.buttons = []
        for reply in outcome.replies:
            sender.buttons += render(reply, out, len(sender.buttons) + 1)
        await notices.drain()  # notices to this persona (三书同达, decisions) show up after the reply
        if sender.buttons:
            buttons = sender.buttons
        out.flush()
