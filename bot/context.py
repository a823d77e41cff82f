"""What a dialog step sees: the session, the chat's state, who is talking, and how to answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import gettext
from bot.replies import Button, Document, Event, Outcome, Reply
from models import ConversationState
from models.base import utcnow
from models.people import new_token
from workflows.calendar import WorkdayCalendar
from workflows.clock import Clock, local_today
from workflows.identity import Identity
from workflows.settings import Settings


@dataclass(frozen=True)
class Services:
    clock: Clock
    calendar: WorkdayCalendar
    settings: Settings


class Ctx:
    def __init__(
        self,
        session: AsyncSession,
        state: ConversationState,
        event: Event,
        identity: Identity,
        services: Services,
    ) -> None:
        self.session = session
        self.state = state
        self.event = event
        self.identity = identity
        self.services = services
        self.outcome = Outcome()
        self._new_screen: int | None = None
        self._tokens: list[dict[str, Any]] = []  # button tokens of this step, inserted by finish()

    # -- who and when -------------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.state.lang

    @property
    def actor(self) -> str:
        if self.identity.staff is not None:
            return f"staff:{self.identity.staff.id}"
        return f"chat:{self.state.channel}:{self.state.chat_id}"

    @property
    def today(self) -> date:
        return local_today(self.services.clock)

    def _(self, zh: str, /, **values: object) -> str:
        """The Chinese text (the gettext msgid) in the chat's language, placeholders filled: English
        comes from the catalogs in bot/locale (bot/i18n.py)."""
        return gettext(zh, self.lang, **values)

    # -- state --------------------------------------------------------------------------------------
    def goto(self, state: str, **data: Any) -> None:
        self.state.state = state
        self.state.data = dict(data)

    # -- answering ----------------------------------------------------------------------------------
    def say(
        self,
        text: str,
        buttons: list[list[Button]] | None = None,
        *,
        document: Document | None = None,
        edit: bool = False,
    ) -> None:
        self.outcome.replies.append(Reply(text, buttons or [], document, edit))

    def notice(self, text: str) -> None:
        self.outcome.callback_notice = text

    def button(self, label: str, action: str, /, *, persistent: bool = False, **payload: Any) -> Button:
        """A button whose data is an opaque token; the action and payload stay on the server."""
        if self._new_screen is None:
            self._new_screen = self.state.screen + 1
        token = new_token()
        self._tokens.append(
            {
                "token": token,
                "channel": self.state.channel,
                "chat_id": self.state.chat_id,
                "action": action,
                "payload": payload,
                "screen": self._new_screen,
                "persistent": persistent,
                "created_at": utcnow(),
            }
        )
        return Button(label, token)

    def finish(self) -> list[dict[str, Any]]:
        """The reply's button tokens, for the engine to write with the state (bot/step_writes.py, which
        also drops stale ones now and then). A new keyboard makes the older ones stale: the engine refuses
        a token from another screen."""
        if self._new_screen is None:
            return []
        self.state.screen = self._new_screen
        tokens, self._tokens = self._tokens, []
        return tokens
