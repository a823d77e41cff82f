"""A local fake of the Telegram Bot API, served over real HTTP for end-to-end tests and benchmarks.

The real aiogram 3 and python-telegram-bot 22 clients talk to it exactly as they talk to Telegram;
the test plays the user (``push_*``) and asserts on what the bot did (``sent``, ``calls``, ...).
Error texts copy the real Bot API so that the product's error handling is exercised as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from html.parser import HTMLParser
from typing import Any, TypeVar

from aiohttp import web

JSON = dict[str, Any]
Params = dict[str, Any]
T = TypeVar("T")

# Bot API limits, from https://core.telegram.org/bots/api (sendMessage, editMessageText, sendDocument,
# InlineKeyboardButton) and https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

# Fields that arrive as JSON strings in form-encoded requests (aiogram always, PTB for uploads).
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "commands", "scope", "menu_button", "entities", "caption_entities",
        "link_preview_options", "reply_parameters", "allowed_updates", "media",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time", "message_thread_id"}
)
_BOOL_FIELDS = frozenset(
    {"show_alert", "disable_notification", "protect_content", "drop_pending_updates", "is_personal"}
)
_INT_TEXT = re.compile(r"-?\d+")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
# Any one of these makes an inline button do something; a button with none is rejected by Telegram.
_BUTTON_ACTIONS = frozenset(
    {
        "url", "callback_data", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
        "callback_game", "pay",
    }
)  # fmt: skip
# https://core.telegram.org/bots/api#html-style
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji",
     "code", "pre", "blockquote"}
)  # fmt: skip
_RATE_LIMITED = frozenset({"sendMessage", "sendDocument", "sendPhoto", "editMessageText"})


@dataclass(frozen=True)
class TelegramLimits:
    """Broadcast limits from the Bot API FAQ (sliding windows; off unless given to FakeBotAPI)."""

    global_per_second: float = 30
    per_chat_per_second: float = 1
    per_group_per_minute: int = 20


@dataclass(frozen=True)
class SentFile:
    file_name: str
    content: bytes
    mime_type: str | None
    file_id: str


@dataclass
class SentMessage:
    """One thing the bot showed a user: a send or an edit, as the bot sent it."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # text or caption, raw (HTML tags kept); see visible_text
    reply_markup: JSON | None
    parse_mode: str | None
    at: float  # FakeBotAPI clock (time.monotonic unless injected)
    document: SentFile | None = None
    photo: SentFile | None = None

    @property
    def visible_text(self) -> str:
        """The text as the user reads it (HTML markup removed)."""
        return _visible_text(self.text or "", self.parse_mode)

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def callback_data(self, button_text: str) -> str:
        """The callback_data of the inline button labelled button_text (KeyError if none)."""
        for button in self.buttons:
            if button.get("text") == button_text and "callback_data" in button:
                return str(button["callback_data"])
        raise KeyError(f"no callback button {button_text!r} in {[b.get('text') for b in self.buttons]}")


class _ApiError(Exception):
    """A Bot API error answer; raised anywhere in a method and turned into JSON by the dispatcher."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


def _bad_request(reason: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {reason}")


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    times: int


@dataclass(frozen=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str | None
    content: bytes

    def as_file(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


class _Pulse:
    """Wakes every current waiter once; an asyncio.Event that re-arms itself after firing."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        event = self._event  # bound now, so a fire() between here and the await is not missed
        try:
            await asyncio.wait_for(event.wait(), max(timeout, 0.0))
        except TimeoutError:
            return False
        return True


class _SlidingWindow:
    """At most `capacity` events in any `seconds`-long window."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.seconds = seconds
        self._times: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()
        if len(self._times) < self.capacity:
            return 0.0
        return self._times[0] + self.seconds - now

    def record(self, now: float) -> None:
        self._times.append(now)


def _window_for_rate(per_second: float) -> _SlidingWindow:
    # 2.5/s becomes 2 per 0.8 s and 0.5/s becomes 1 per 2 s, so fractional rates stay exact.
    capacity = max(1, math.floor(per_second))
    return _SlidingWindow(capacity, capacity / per_second)


class _RateLimiter:
    def __init__(self, limits: TelegramLimits) -> None:
        self._limits = limits
        self._global = _window_for_rate(limits.global_per_second)
        self._chats: dict[int, _SlidingWindow] = {}
        self._groups: dict[int, _SlidingWindow] = {}

    def retry_after(self, chat_id: int, now: float) -> int | None:
        """None and the send is counted, or the whole seconds to wait (as Telegram reports them)."""
        windows = [
            self._global,
            self._chats.setdefault(chat_id, _window_for_rate(self._limits.per_chat_per_second)),
        ]
        if chat_id < 0:  # negative ids are groups and supergroups
            windows.append(
                self._groups.setdefault(chat_id, _SlidingWindow(self._limits.per_group_per_minute, 60.0))
            )
        wait = max(window.wait_needed(now) for window in windows)
        if wait > 0:
            return max(1, math.ceil(wait))
        for window in windows:
            window.record(now)
        return None


class _TelegramHTML(HTMLParser):
    """Accepts the HTML subset of parse_mode=HTML, with Telegram's error texts; keeps the visible text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._open: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _bad_request(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset {self._offset()}'
            )
        self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _bad_request(
            f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset {self._offset()}'
        )

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1] != tag:
            raise _bad_request(f"can't parse entities: Unexpected end tag at byte offset {self._offset()}")
        self._open.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def finish(self) -> str:
        self.close()
        if self._open:
            raise _bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag \"{self._open[-1]}\""
            )
        return "".join(self.parts)

    def _offset(self) -> int:
        line, column = self.getpos()
        index = sum(len(text) + 1 for text in self._source.split("\n")[: line - 1]) + column
        return len(self._source[:index].encode())


def _visible_text(text: str, parse_mode: str | None) -> str:
    """Text after entity parsing; raises _ApiError like Telegram for malformed HTML."""
    if (parse_mode or "").lower() != "html":
        return text  # Markdown is not validated: the fake accepts it as plain text
    parser = _TelegramHTML(text)
    parser.feed(text)
    return parser.finish()


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # entity offsets and lengths count UTF-16 code units


def _normalize(key: str, value: Any) -> Any:
    """Give form-encoded values the JSON types that application/json requests carry."""
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value  # left for the method to reject, as Telegram does
    if key in _INT_FIELDS and _INT_TEXT.fullmatch(value):
        return int(value)
    if key in _BOOL_FIELDS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part; it stands in params (and `calls`) where the file was referenced."""

    file_name: str
    content_type: str | None
    content: bytes


async def _read_params(request: web.Request) -> Params:
    """Query string, JSON body, urlencoded or multipart form: all become one params dict."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise _bad_request("can't parse JSON object")
            raw.update(body)
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    raw[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    params = {key: _normalize(key, value) for key, value in raw.items()}
    # aiogram names each file part at random and passes "attach://<part>" as the parameter's value.
    for key, value in params.items():
        part = (
            value.removeprefix("attach://")
            if isinstance(value, str) and value.startswith("attach://")
            else None
        )
        if part is not None and isinstance(params.get(part), UploadedFile):
            params[key] = params[part]
    return params


Handler = Callable[[Params], Awaitable[Any]]


class FakeBotAPI:
    """A Telegram Bot API server on 127.0.0.1 that records what the bot does and lets a test play users.

    Use ``async with FakeBotAPI() as api:`` or ``await api.start()`` / ``await api.stop()``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        limits: TelegramLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.limits = limits
        self._clock = clock  # injectable so rate-limit tests advance time instead of sleeping
        self._limiter = _RateLimiter(limits) if limits else None
        bot_id = int(token.split(":", 1)[0]) if _INT_TEXT.fullmatch(token.split(":", 1)[0]) else 123456
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "信用交通助手",
            "username": "credit_transport_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

        # What the bot did.
        self.sent: list[SentMessage] = []
        self.answered_callbacks: dict[str, Params] = {}
        self.commands: dict[str, list[JSON]] = {}  # default scope only, by language_code ('' = all)
        self.scoped_commands: dict[tuple[str, str], list[JSON]] = {}  # (scope JSON, language_code)
        self.menu_buttons: dict[int | None, JSON] = {}  # chat_id (None = default) -> menu button
        self.calls: list[tuple[str, Params]] = []
        self.too_many_requests = 0

        # Fault injection.
        self.blocked_chats: set[int] = set()
        self.unknown_chats: set[int] = set()
        self._faults: dict[str, deque[_Fault]] = {}

        # Telegram-side state.
        self._updates: list[JSON] = []  # unconfirmed, in update_id order
        self._next_update_id = 1
        self._next_message_id: dict[int, int] = {}  # per chat, shared by user and bot messages
        self._next_file = 1
        self._next_callback = 1
        self._users: dict[int, JSON] = {}
        self._messages: dict[tuple[int, int], JSON] = {}  # the bot's own messages, as Telegram holds them
        self._sources: dict[tuple[int, int], tuple[str | None, str | None, JSON | None]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._pending_callbacks: set[str] = set()

        self._updates_pulse = _Pulse()
        self._sent_pulse = _Pulse()
        self._calls_pulse = _Pulse()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        # Webhook mode (setWebhook): updates are POSTed to the URL instead of waiting for getUpdates.
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status) of every POST made
        self._webhook_task: asyncio.Task[None] | None = None

        methods: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "sendDocument": partial(self._send_file, "sendDocument", "document"),
            "sendPhoto": partial(self._send_file, "sendPhoto", "photo"),
            "getFile": self._get_file,
        }
        # Telegram matches method names case-insensitively; calls are recorded under the canonical name.
        self._methods = {name.lower(): (name, handler) for name, handler in methods.items()}

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing = True
        self._updates_pulse.fire()  # pending long polls answer [] at once instead of at their timeout
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    # ---- playing the user ------------------------------------------------------------------------

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> int:
        """Queue a text message from the user; a leading /command gets its bot_command entity."""
        user = self._remember_user(chat_id if user_id is None else user_id, first_name, language_code)
        body: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_length(command)}]
        return self._push_message(chat_id, user, body)

    def push_edited_text(self, chat_id: int, text: str, *, user_id: int | None = None) -> int:
        """Queue an edited_message update: the user changed the text of a message sent earlier."""
        message = self._new_message(chat_id, self._sender(chat_id, user_id), {"text": text})
        message["edit_date"] = _now()
        return self._push_update({"edited_message": message})

    def push_channel_post(self, chat_id: int, text: str) -> int:
        """Queue a channel_post update: a post in a channel the bot was added to (no sender user)."""
        message = {
            "message_id": self._new_message_id(chat_id),
            "chat": {"id": chat_id, "type": "channel", "title": "测试频道"},
            "date": _now(),
            "text": text,
        }
        return self._push_update({"channel_post": message})

    def push_document(
        self,
        chat_id: int,
        file_name: str,
        content: bytes,
        mime_type: str,
        *,
        user_id: int | None = None,
        caption: str | None = None,
    ) -> int:
        stored = self._store_file("documents", file_name, mime_type, content)
        body: JSON = {"document": self._document_json(stored)}
        if caption is not None:
            body["caption"] = caption
        return self._push_message(chat_id, self._sender(chat_id, user_id), body)

    def push_photo(self, chat_id: int, content: bytes, *, user_id: int | None = None) -> int:
        stored = self._store_file("photos", "photo.jpg", "image/jpeg", content)
        body: JSON = {"photo": [self._photo_size(stored)]}
        return self._push_message(chat_id, self._sender(chat_id, user_id), body)

    def push_sticker(self, chat_id: int, *, user_id: int | None = None) -> int:
        stored = self._store_file("stickers", "sticker.webp", "image/webp", b"RIFF\x00\x00\x00\x00WEBP")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": len(stored.content),
        }
        return self._push_message(chat_id, self._sender(chat_id, user_id), {"sticker": sticker})

    def push_callback(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> str:
        """Queue a button press on a message the bot sent; data need not match a button (tampering tests)."""
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise KeyError(f"the bot has no message {message_id} in chat {chat_id} to press a button on")
        callback_id = str(4_000_000_000 + self._next_callback)
        self._next_callback += 1
        self._pending_callbacks.add(callback_id)
        self._push_update(
            {
                "callback_query": {
                    "id": callback_id,
                    "from": self._sender(chat_id, user_id),
                    "message": copy.deepcopy(message),  # as it looked when pressed
                    "chat_instance": str(chat_id),
                    "data": data,
                }
            }
        )
        return callback_id

    # ---- what the bot did ------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [item for item in self.sent if item.chat_id == chat_id]

    def mark(self) -> int:
        """An index into `sent` to pass as wait_for(since=...) so only later items match."""
        return len(self.sent)

    async def wait_for(
        self, predicate: Callable[[SentMessage], bool], timeout: float = 10.0, since: int = 0
    ) -> SentMessage:
        """The first item of sent[since:] matching predicate, waiting up to timeout seconds for it."""
        found = await _first_match(self.sent, self._sent_pulse, predicate, since, timeout)
        if found is None:
            recent = [(item.method, item.chat_id, item.text) for item in self.sent[since:]][-5:]
            raise TimeoutError(f"no matching message within {timeout}s; last sent since {since}: {recent}")
        return found

    async def wait_for_call(self, method: str, timeout: float = 10.0, since: int = 0) -> Params:
        """The params of the first call of method in calls[since:], waiting up to timeout seconds."""
        found = await _first_match(
            self.calls, self._calls_pulse, lambda call: call[0].lower() == method.lower(), since, timeout
        )
        if found is None:
            raise TimeoutError(f"no {method} call within {timeout}s")
        return found[1]

    async def wait_idle(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Return once no Bot API call arrived for `quiet` seconds (a heuristic: a slow handler looks idle)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self._calls_pulse.wait(quiet):
            if asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(f"the bot kept calling the API for {timeout}s")

    # ---- fault injection -------------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int, description: str, *, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Make the next `times` calls of method fail; queued faults apply in the order given."""
        if method.lower() not in self._methods:
            raise ValueError(f"FakeBotAPI does not implement {method!r}")
        self._faults.setdefault(method.lower(), deque()).append(
            _Fault(status, description, retry_after, times)
        )

    # ---- HTTP ------------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _ApiError(401, "Unauthorized").response()
        resolved = self._methods.get(request.match_info["method"].lower())
        if resolved is None:
            return _ApiError(404, "Not Found").response()
        name, handler = resolved
        try:
            params = await _read_params(request)
            self.calls.append((name, params))
            self._calls_pulse.fire()
            self._inject_fault(name)
            result = await handler(params)
        except _ApiError as error:
            return error.response()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["file_path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            return _ApiError(404, "Not Found").response()
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    def _inject_fault(self, method: str) -> None:
        queue = self._faults.get(method.lower())
        if not queue:
            return
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        raise _ApiError(fault.status, fault.description, fault.retry_after)

    # ---- methods: updates and bot settings -------------------------------------------------------

    async def _get_me(self, params: Params) -> JSON:
        return self.bot_user

    async def _get_updates(self, params: Params) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        offset = _optional_int(params, "offset") or 0
        limit = min(max(_optional_int(params, "limit") or 100, 1), 100)
        timeout = max(_optional_int(params, "timeout") or 0, 0)
        if offset < 0:  # "updates starting from -offset update from the end of the queue"
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        deadline = asyncio.get_running_loop().time() + timeout
        # Updates stay queued until a later offset confirms them, as on Telegram.
        while not self._updates and not self._closing:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or not await self._updates_pulse.wait(remaining):
                break
        return self._updates[:limit]

    async def _delete_webhook(self, params: Params) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = self.webhook_secret = None
        return True

    async def _set_webhook(self, params: Params) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("bad webhook: secret token contains unallowed characters")
        self.webhook_url, self.webhook_secret = url, secret
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._post_updates())
        self._updates_pulse.fire()
        return True

    async def _get_webhook_info(self, params: Params) -> JSON:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # Telegram's default max_connections for a webhook.
    WEBHOOK_CONNECTIONS = 40

    async def _post_updates(self) -> None:
        """POST each update to the webhook, several at once as Telegram does; an update is confirmed by a
        2xx answer and tried again otherwise."""
        import aiohttp  # the client half, only for webhook mode

        in_flight: set[int] = set()
        tasks: set[asyncio.Task[None]] = set()  # held so that running posts are not garbage-collected
        slots = asyncio.Semaphore(self.WEBHOOK_CONNECTIONS)
        async with aiohttp.ClientSession() as http:

            async def post(update: JSON) -> None:
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret or ""}
                status = 0
                try:
                    async with (
                        slots,
                        http.post(str(self.webhook_url), json=update, headers=headers) as answer,
                    ):
                        status = answer.status
                except (aiohttp.ClientError, OSError):
                    status = 0
                self.webhook_posts.append((update["update_id"], status))
                if 200 <= status < 300:
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                else:
                    await asyncio.sleep(0.2)  # Telegram retries a failed update later
                in_flight.discard(update["update_id"])
                self._updates_pulse.fire()

            while not self._closing:
                if not self.webhook_url:
                    await self._updates_pulse.wait(1.0)
                    continue
                for update in list(self._updates):
                    if update["update_id"] not in in_flight:
                        in_flight.add(update["update_id"])
                        task = asyncio.create_task(post(update))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                await self._updates_pulse.wait(1.0)

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope, language = self._commands_key(params)
        self.scoped_commands[(scope, language)] = commands
        if scope == _DEFAULT_SCOPE:
            self.commands[language] = commands
        return True

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return self.scoped_commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: Params) -> bool:
        scope, language = self._commands_key(params)
        self.scoped_commands.pop((scope, language), None)
        if scope == _DEFAULT_SCOPE:
            self.commands.pop(language, None)
        return True

    async def _set_chat_menu_button(self, params: Params) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict):
            raise _bad_request("can't parse menu button JSON object")
        self.menu_buttons[_optional_int(params, "chat_id")] = button
        return True

    # ---- methods: messages -----------------------------------------------------------------------

    async def _send_message(self, params: Params) -> JSON:
        chat_id = self._target_chat(params)
        text, parse_mode = params.get("text"), params.get("parse_mode")
        visible = _checked_text(
            text, parse_mode, MAX_TEXT_LENGTH, "message is too long", "message text is empty"
        )
        markup = _checked_markup(params)
        self._admit("sendMessage", chat_id)
        message = self._new_bot_message(chat_id, {"text": visible, **_inline(markup)})
        return self._record("sendMessage", message, text, parse_mode, markup)

    async def _edit_message_text(self, params: Params) -> JSON:
        chat_id, message_id = self._target_chat(params), _message_id(params)
        text, parse_mode = params.get("text"), params.get("parse_mode")
        visible = _checked_text(
            text, parse_mode, MAX_TEXT_LENGTH, "message is too long", "message text is empty"
        )
        markup = _checked_markup(params)
        message = self._editable(chat_id, message_id)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        self._check_modified((chat_id, message_id), text, parse_mode, markup)
        self._admit("editMessageText", chat_id)
        message["text"] = visible
        return self._apply_edit("editMessageText", message, text, parse_mode, markup)

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        chat_id, message_id = self._target_chat(params), _message_id(params)
        markup = _checked_markup(params)
        message = self._editable(chat_id, message_id)
        text, parse_mode, _ = self._sources[(chat_id, message_id)]
        self._check_modified((chat_id, message_id), text, parse_mode, markup)
        return self._apply_edit("editMessageReplyMarkup", message, text, parse_mode, markup)

    async def _delete_message(self, params: Params) -> bool:
        key = (self._target_chat(params), _message_id(params))
        if self._messages.pop(key, None) is None:
            raise _bad_request("message to delete not found")
        self._sources.pop(key, None)
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        callback_id = str(params.get("callback_query_id", ""))
        if callback_id not in self._pending_callbacks:  # unknown or already answered
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        self._pending_callbacks.discard(callback_id)
        self.answered_callbacks[callback_id] = params
        return True

    async def _send_chat_action(self, params: Params) -> bool:
        self._target_chat(params)
        return True

    async def _send_file(self, method: str, kind: str, params: Params) -> JSON:
        """sendDocument (kind "document") and sendPhoto (kind "photo")."""
        chat_id = self._target_chat(params)
        caption, parse_mode = params.get("caption"), params.get("parse_mode")
        visible = _checked_text(caption, parse_mode, MAX_CAPTION_LENGTH, "message caption is too long", None)
        markup = _checked_markup(params)
        stored = self._input_file(params, kind)
        self._admit(method, chat_id)
        media = self._document_json(stored) if kind == "document" else [self._photo_size(stored)]
        body: JSON = {kind: media, **_inline(markup)}
        if visible:
            body["caption"] = visible
        message = self._new_bot_message(chat_id, body)
        sent = SentFile(stored.file_name, stored.content, stored.mime_type, stored.file_id)
        document, photo = (sent, None) if kind == "document" else (None, sent)
        return self._record(method, message, caption, parse_mode, markup, document=document, photo=photo)

    async def _get_file(self, params: Params) -> JSON:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        return stored.as_file()

    # ---- helpers ---------------------------------------------------------------------------------

    def _target_chat(self, params: Params) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if not isinstance(chat_id, int) or chat_id in self.unknown_chats:
            raise _bad_request("chat not found")  # @usernames are unknown here
        if chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _admit(self, method: str, chat_id: int) -> None:
        if self._limiter is None or method not in _RATE_LIMITED:
            return
        retry_after = self._limiter.retry_after(chat_id, self._clock())
        if retry_after is not None:
            self.too_many_requests += 1
            raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _editable(self, chat_id: int, message_id: int) -> JSON:
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        return message

    def _check_modified(
        self, key: tuple[int, int], text: str | None, parse_mode: str | None, markup: JSON | None
    ) -> None:
        if _edit_state(*self._sources[key]) == _edit_state(text, parse_mode, markup):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )

    def _apply_edit(
        self, method: str, message: JSON, text: str | None, parse_mode: str | None, markup: JSON | None
    ) -> JSON:
        message.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard
        message.update(_inline(markup))
        message["edit_date"] = _now()
        return self._record(method, message, text, parse_mode, markup)

    def _record(
        self,
        method: str,
        message: JSON,
        text: str | None,
        parse_mode: str | None,
        markup: JSON | None,
        *,
        document: SentFile | None = None,
        photo: SentFile | None = None,
    ) -> JSON:
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        self._sources[(chat_id, message_id)] = (text, parse_mode, markup)
        item = SentMessage(
            method, chat_id, message_id, text, markup, parse_mode, self._clock(), document, photo
        )
        self.sent.append(item)
        self._sent_pulse.fire()
        return message

    def _new_message(self, chat_id: int, sender: JSON, body: JSON) -> JSON:
        return {
            "message_id": self._new_message_id(chat_id),
            "from": sender,
            "chat": self._chat(chat_id),
            "date": _now(),
            **body,
        }

    def _new_bot_message(self, chat_id: int, body: JSON) -> JSON:
        message = self._new_message(chat_id, self.bot_user, body)
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _push_message(self, chat_id: int, user: JSON, body: JSON) -> int:
        return self._push_update({"message": self._new_message(chat_id, user, body)})

    def _push_update(self, body: JSON) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **body})
        self._updates_pulse.fire()
        return update_id

    def _remember_user(self, user_id: int, first_name: str, language_code: str) -> JSON:
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        self._users[user_id] = user
        return user

    def _sender(self, chat_id: int, user_id: int | None) -> JSON:
        return self._user(chat_id if user_id is None else user_id)  # private chats: chat id == user id

    def _user(self, user_id: int) -> JSON:
        return self._users.get(user_id) or self._remember_user(user_id, "测试", "zh-hans")

    def _chat(self, chat_id: int) -> JSON:
        if chat_id < 0:  # supergroup ids are -100xxxxxxxxxx
            kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
            return {"id": chat_id, "type": kind, "title": "测试群"}
        return {"id": chat_id, "type": "private", "first_name": self._user(chat_id)["first_name"]}

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True, ensure_ascii=False), str(params.get("language_code") or "")

    def _store_file(self, folder: str, file_name: str, mime_type: str | None, content: bytes) -> _StoredFile:
        number = self._next_file
        self._next_file += 1
        suffix = file_name[file_name.rfind(".") :] if "." in file_name else ""
        stored = _StoredFile(
            f"FAKE-FILE-{number:06d}",
            f"uniq{number}",
            f"{folder}/file_{number}{suffix}",
            file_name,
            mime_type,
            content,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, params: Params, field_name: str) -> _StoredFile:
        """A new upload (stored, so getFile and re-sending by file_id work) or a known file_id."""
        value = params.get(field_name)
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad_request("file must be non-empty")
            mime_type = mimetypes.guess_type(value.file_name)[0] or value.content_type
            return self._store_file(f"{field_name}s", value.file_name, mime_type, value.content)
        if not value:
            raise _bad_request(f"there is no {field_name} in the request")
        stored = self._files.get(str(value))
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return stored

    @staticmethod
    def _document_json(stored: _StoredFile) -> JSON:
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "file_size": len(stored.content),
        }
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    @staticmethod
    def _photo_size(stored: _StoredFile) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 800,
            "height": 600,
            "file_size": len(stored.content),
        }


_DEFAULT_SCOPE = json.dumps({"type": "default"}, sort_keys=True)


async def _first_match(
    items: list[T], pulse: _Pulse, predicate: Callable[[T], bool], since: int, timeout: float
) -> T | None:
    """The first of items[since:] matching predicate, waiting for appends (each fires pulse); None at timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    checked = since
    while True:
        for item in items[checked:]:
            if predicate(item):
                return item
        checked = max(checked, len(items))
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        await pulse.wait(remaining)


def _now() -> int:
    return int(time.time())


def _optional_int(params: Params, key: str) -> int | None:
    value = params.get(key)
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    raise _bad_request(f'field "{key}" must be of type Integer')


def _message_id(params: Params) -> int:
    message_id = _optional_int(params, "message_id")
    if message_id is None:
        raise _bad_request("message identifier is not specified")
    return message_id


def _checked_text(value: Any, parse_mode: str | None, limit: int, too_long: str, empty: str | None) -> str:
    """The visible text, or the error Telegram gives (empty is None where text is optional)."""
    text = "" if value is None else str(value)
    visible = _visible_text(text, parse_mode)
    if empty is not None and not visible.strip():
        raise _bad_request(empty)
    if len(visible) > limit:
        raise _bad_request(too_long)
    return visible


def _checked_markup(params: Params) -> JSON | None:
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if (
                "callback_data" in button
                and len(str(button["callback_data"]).encode()) > MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
            if not _BUTTON_ACTIONS & button.keys():
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
    return markup


def _edit_state(text: str | None, parse_mode: str | None, markup: JSON | None) -> tuple[Any, ...]:
    """What Telegram compares to decide that an edit changes nothing."""
    return text, (parse_mode or "").lower(), _inline(markup)


def _inline(markup: JSON | None) -> JSON:
    """The part of reply_markup a Message carries: only inline keyboards are attached to messages."""
    if markup and "inline_keyboard" in markup:
        return {"reply_markup": {"inline_keyboard": markup["inline_keyboard"]}}
    return {}
