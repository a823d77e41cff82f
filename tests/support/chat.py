"""Playing a user through the engine (no network): send text, press buttons by label, read replies."""

from __future__ import annotations

import os

from bot.app import App
from bot.engine import Engine
from bot.replies import Button, Event, IncomingFile, Outcome
from models import Staff, StaffRole
from notifications.delivery import OutgoingMessage
from tests.support.wording import problems
from workflows.binding import issue_code

# Where leaks go: raise in a test, or collect for a report (WORDING_REPORT=path, see README).
_REPORT = os.environ.get("WORDING_REPORT")


def check_screen(text: str, labels: list[str]) -> None:
    """Every screen and notice a test chat gets is scanned for internal names (issue #9)."""
    found = problems("\n".join([text, *labels]))
    if not found:
        return
    if _REPORT:
        with open(_REPORT, "a", encoding="utf-8") as report:
            report.write(f"{found} IN {text[:300]!r}\n")
        return
    raise AssertionError(f"a user would see {found} in:\n{text}")


class ChatUser:
    def __init__(
        self,
        engine: Engine,
        chat_id: str,
        *,
        channel: str = "test",
        user_id: str | None = None,
        chat_type: str = "private",
        user_name: str | None = None,
    ) -> None:
        """A group chat (chat_type "group") has its own chat_id; user_id says which member writes."""
        self.engine = engine
        self.chat_id = chat_id
        self.channel = channel
        self.user_id = user_id or chat_id
        self.chat_type = chat_type
        self.user_name = user_name
        self.buttons: list[Button] = []  # the latest keyboard, as a user sees it
        self.last: Outcome = Outcome()

    async def _handle(self, **kw: object) -> Outcome:
        event = Event(
            channel=self.channel,
            chat_id=self.chat_id,
            user_id=self.user_id,
            chat_type=self.chat_type,
            user_name=self.user_name,
            **kw,  # type: ignore[arg-type]
        )
        self.last = await self.engine.handle(event)
        for reply in self.last.replies:
            check_screen(reply.text, [b.label for row in reply.buttons for b in row])
            if reply.buttons:
                self.buttons = [b for row in reply.buttons for b in row]
        return self.last

    async def send(self, text: str) -> Outcome:
        return await self._handle(text=text)

    async def send_file(self, file: IncomingFile) -> Outcome:
        return await self._handle(file=file)

    async def send_other(self, kind: str = "sticker") -> Outcome:
        return await self._handle(other=kind)

    def button(self, label_part: str) -> Button:
        matches = [b for b in self.buttons if label_part in b.label]
        assert matches, f"no button with {label_part!r} in {[b.label for b in self.buttons]}"
        return matches[0]

    async def press(self, label_part: str) -> Outcome:
        return await self._handle(callback=self.button(label_part).data)

    async def press_data(self, data: str) -> Outcome:
        return await self._handle(callback=data)

    @property
    def text(self) -> str:
        """All reply texts of the last event, joined."""
        return "\n".join(r.text for r in self.last.replies)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"


def upload(name: str, content: bytes, mime: str | None = None) -> IncomingFile:
    """A file as a channel hands it over: metadata now, bytes when the step fetches them."""

    async def fetch() -> bytes:
        return content

    return IncomingFile(name, mime, len(content), fetch)


class Inbox:
    """The notices a test chat receives: the real dispatcher delivers outbox rows here (Sender contract)."""

    channel = "test"

    def __init__(self) -> None:
        self.messages: list[tuple[str, OutgoingMessage]] = []

    async def send(self, chat_id: str, message: OutgoingMessage) -> None:
        check_screen(message.text, [b.label for row in message.buttons for b in row])
        self.messages.append((chat_id, message))

    def to(self, chat_id: str) -> list[OutgoingMessage]:
        return [m for c, m in self.messages if c == chat_id]

    def button(self, chat_id: str, label_part: str) -> str:
        for message in reversed(self.to(chat_id)):
            for row in message.buttons:
                for b in row:
                    if label_part in b.label:
                        return b.data
        raise AssertionError(f"no notice button {label_part!r} for chat {chat_id}")


async def staff_chat(app: App, name: str, role: StaffRole, chat: str, department: str = "信用科") -> ChatUser:
    """A new staff member, bound in a private test chat through a one-time code."""
    async with app.sessions() as s, s.begin():
        staff = Staff(name=name, department=department, role=role)
        s.add(staff)
        await s.flush()
        code = await issue_code(s, issued_by="cli", clock=app.engine.services.clock, staff_id=staff.id)
    user = ChatUser(app.engine, chat)
    await user.send(f"/start {code.code}")
    assert "绑定成功" in user.text
    return user
