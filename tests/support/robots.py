"""Local fakes of three Chinese group-robot webhook APIs, served over real HTTP on one aiohttp server.

- 企业微信 群机器人: ``POST /cgi-bin/webhook/send?key=KEY``
- 钉钉 自定义机器人 (加签): ``POST /robot/send?access_token=TOKEN&timestamp=MS&sign=SIGN``
- 飞书 自定义机器人 (签名校验): ``POST /open-apis/bot/v2/hook/ID`` with ``timestamp`` and ``sign`` in the body

The test registers robots (``add_wecom`` / ``add_dingtalk`` / ``add_feishu``, each returning the webhook URL
as the platform shows it), lets the product send, and asserts on ``received`` and ``refusals``. Keys, tokens,
signatures, timestamps, message formats, sizes and per-robot limits are checked, and every answer copies
the real platform's HTTP status and JSON. The clock is injectable (epoch seconds) so that limit tests and
timestamp tests advance time instead of sleeping.

Sources (where a text comes from GitHub issues rather than the platform's own page, it says so):
- WeCom: https://developer.work.weixin.qq.com/document/path/91770 (群机器人配置说明: text ≤ 2048 bytes,
  markdown ≤ 4096 bytes, 20 messages/min per robot), https://developer.work.weixin.qq.com/document/path/90455
  (全局错误码: 40008 msgtype, 45009 freq); errmsg texts as observed in GitHub issues (93000, 40058).
- DingTalk: https://open.dingtalk.com/document/orgapp/custom-robot-access (自定义机器人接入 / 安全设置: 加签,
  timestamp ms within 1 hour, 20 messages/min per robot and then 限流 10 minutes); errcode/errmsg texts as
  observed in GitHub issues (300001, 310000, 130101, 460101).
- Feishu: https://open.feishu.cn/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN (自定义机器人使用指南: 100/min and
  5/s per robot, body ≤ 20 KB, 9499 Bad Request, 19021 sign, 19024 keywords, timestamp s within 1 hour);
  9499 "too many request" with HTTP 400 as observed in ccfos/nightingale#1437.

Not found in any source, so chosen to be plausible (an adapter should not depend on them): WeCom 40035 for a
body that is not JSON or lacks content; DingTalk 40035 "缺少参数 json" for an unknown msgtype (observed only for
a missing body); Feishu 19001 with HTTP 400 for an unknown hook id; the HTTP status of Feishu 19021/19024 (200).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from tests.support.botapi import _first_match, _Pulse, _SlidingWindow

JSON = dict[str, Any]


class Platform(StrEnum):
    WECOM = "wecom"  # 企业微信
    DINGTALK = "dingtalk"  # 钉钉
    FEISHU = "feishu"  # 飞书


class Refusal(StrEnum):
    """Why a request was refused; `FakeRobots.refusals` counts them per platform."""

    INVALID_KEY = "invalid_key"  # unknown or revoked key / access_token / hook id
    BAD_SIGNATURE = "bad_signature"  # sign missing or not matching
    STALE_TIMESTAMP = "stale_timestamp"  # timestamp more than an hour from the server's clock
    KEYWORD = "keyword"  # 自定义关键词 set and none in the message
    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"
    BAD_MESSAGE = "bad_message"  # unknown msgtype, missing fields, not JSON
    FAULT = "fault"  # injected with fail_next


# ---- platform rules (one place; the product's rules module should carry the same numbers) ------------

WECOM_TEXT_MAX_BYTES = 2048  # 91770: 文本内容，最长不超过2048个字节
WECOM_MARKDOWN_MAX_BYTES = 4096  # 91770: markdown内容，最长不超过4096个字节
WECOM_PER_MINUTE = 20  # 91770: 每个机器人发送的消息不能超过20条/分钟
WECOM_MSGTYPES = frozenset(
    {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}
)

DINGTALK_TIMESTAMP_SKEW_MS = 3_600_000  # 安全设置: 与请求调用时间误差不能超过1小时
DINGTALK_PER_MINUTE = 20  # 每个机器人每分钟最多发送20条消息到群里
DINGTALK_PENALTY_SECONDS = 600  # 如果超过20条，会限流10分钟
DINGTALK_MAX_BODY_BYTES = 20_000  # errmsg "message too long, exceed 20000 bytes" (observed, 460101)
DINGTALK_MSGTYPES = frozenset({"text", "link", "markdown", "actionCard", "feedCard"})

FEISHU_TIMESTAMP_SKEW_S = 3600  # 签名校验: 距当前时间不超过 1 小时（3600 秒）
FEISHU_PER_MINUTE = 100  # 单租户单机器人 100 次/分钟
FEISHU_PER_SECOND = 5  # 单租户单机器人 5 次/秒
FEISHU_MAX_BODY_BYTES = 20 * 1024  # 请求体的数据大小不能超过 20 KB
FEISHU_MSG_TYPES = frozenset({"text", "post", "image", "share_chat", "interactive"})


# ---- signatures, as the platforms document them (also used by tests to sign) ------------------------


def dingtalk_sign(timestamp_ms: int | str, secret: str) -> str:
    """Base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")), before URL-encoding."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp_s: int | str, secret: str) -> str:
    """Base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b"")) — the key is the string, the message empty."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# ---- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RobotMessage:
    """One message a robot accepted and would have shown in its group."""

    platform: Platform
    robot: str  # key / access_token / hook id
    msgtype: str
    text: str  # the readable text: content, markdown text, card/post texts joined by newlines
    at: float  # FakeRobots clock
    body: JSON  # the request body as sent


@dataclass
class _Robot:
    platform: Platform
    robot_id: str
    secret: str | None
    keywords: tuple[str, ...]
    windows: list[_SlidingWindow]
    revoked: bool = False
    blocked_until: float = 0.0  # DingTalk's 10-minute 限流 after going over
    faults: deque[_Fault] = field(default_factory=deque)


@dataclass
class _Fault:
    status: int
    body: str
    times: int


class _Refused(Exception):
    """A platform error answer; raised in checks and rendered by the platform's handler."""

    def __init__(self, reason: Refusal, code: int, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code
        self.message = message
        self.status = status


class FakeRobots:
    """WeCom, DingTalk and Feishu group-robot webhooks on 127.0.0.1, with a test-registered set of robots.

    Use ``async with FakeRobots() as robots:`` or ``await robots.start()`` / ``await robots.stop()``.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        wecom_per_minute: int = WECOM_PER_MINUTE,
        dingtalk_per_minute: int = DINGTALK_PER_MINUTE,
        dingtalk_penalty_seconds: float = DINGTALK_PENALTY_SECONDS,
        feishu_per_minute: int = FEISHU_PER_MINUTE,
        feishu_per_second: int = FEISHU_PER_SECOND,
    ) -> None:
        self._clock = clock  # epoch seconds: signatures carry wall-clock timestamps
        self._wecom_per_minute = wecom_per_minute
        self._dingtalk_per_minute = dingtalk_per_minute
        self._dingtalk_penalty = dingtalk_penalty_seconds
        self._feishu_per_minute = feishu_per_minute
        self._feishu_per_second = feishu_per_second
        self._robots: dict[tuple[Platform, str], _Robot] = {}
        self._hints = itertools.count(1)

        self.received: list[RobotMessage] = []
        self.refusals: Counter[tuple[Platform, Refusal]] = Counter()
        self.requests = 0  # every request that reached a robot path, accepted or not
        self._received_pulse = _Pulse()

        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/webhook/send", self._handle_wecom)
        app.router.add_route("*", "/robot/send", self._handle_dingtalk)
        app.router.add_route("*", "/open-apis/bot/v2/hook/{hook_id}", self._handle_feishu)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeRobots:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeRobots is not started")
        return f"http://127.0.0.1:{self._port}"

    # ---- robots ----------------------------------------------------------------------------------

    def add_wecom(self, key: str) -> str:
        """Register a 企业微信 群机器人; returns its webhook URL. (WeCom robots have no signature.)"""
        self._add(Platform.WECOM, key, None, (), [_SlidingWindow(self._wecom_per_minute, 60.0)])
        return f"{self.base_url}/cgi-bin/webhook/send?key={key}"

    def add_dingtalk(self, token: str, secret: str | None, *, keywords: Iterable[str] = ()) -> str:
        """Register a 钉钉 自定义机器人 (加签 when secret is given); returns the webhook URL without signature."""
        self._add(
            Platform.DINGTALK,
            token,
            secret,
            tuple(keywords),
            [_SlidingWindow(self._dingtalk_per_minute, 60.0)],
        )
        return f"{self.base_url}/robot/send?access_token={token}"

    def add_feishu(self, hook_id: str, secret: str | None, *, keywords: Iterable[str] = ()) -> str:
        """Register a 飞书 自定义机器人 (签名校验 when secret is given); returns its webhook URL."""
        windows = [
            _SlidingWindow(self._feishu_per_second, 1.0),
            _SlidingWindow(self._feishu_per_minute, 60.0),
        ]
        self._add(Platform.FEISHU, hook_id, secret, tuple(keywords), windows)
        return f"{self.base_url}/open-apis/bot/v2/hook/{hook_id}"

    def revoke(self, platform: Platform, robot_id: str) -> None:
        """The robot was removed from its group (or its webhook reset): the next request gets the invalid-key answer."""
        self._robot(platform, robot_id).revoked = True

    def fail_next(
        self, platform: Platform, robot_id: str, *, status: int = 502, body: str = "", times: int = 1
    ) -> None:
        """The next `times` requests to this robot get this raw HTTP answer (a gateway fault, not a platform code)."""
        self._robot(platform, robot_id).faults.append(_Fault(status, body, times))

    # ---- what was received -------------------------------------------------------------------------

    def messages(self, platform: Platform | None = None, robot_id: str | None = None) -> list[RobotMessage]:
        return [
            message
            for message in self.received
            if (platform is None or message.platform == platform)
            and (robot_id is None or message.robot == robot_id)
        ]

    def refused(self, platform: Platform, reason: Refusal) -> int:
        return self.refusals[(platform, reason)]

    async def wait_for(
        self,
        predicate: Callable[[RobotMessage], bool] = lambda message: True,
        timeout: float = 10.0,
        since: int = 0,
    ) -> RobotMessage:
        """The first of received[since:] matching predicate, waiting up to timeout seconds for it."""
        found = await _first_match(self.received, self._received_pulse, predicate, since, timeout)
        if found is None:
            recent = [(m.platform.value, m.robot, m.text[:40]) for m in self.received[since:]][-5:]
            raise TimeoutError(
                f"no matching robot message within {timeout}s; received since {since}: {recent}"
            )
        return found

    # ---- HTTP: 企业微信 --------------------------------------------------------------------------------

    async def _handle_wecom(self, request: web.Request) -> web.StreamResponse:
        try:
            robot = self._known(
                Platform.WECOM, request.query.get("key", ""), _wecom_error(93000, "invalid webhook url")
            )
            fault = self._take_fault(robot)
            if fault is not None:
                return fault
            body = await _json_body(
                request, _wecom_error(40035, "invalid Request Parameter", Refusal.BAD_MESSAGE)
            )
            msgtype = body.get("msgtype")
            if msgtype not in WECOM_MSGTYPES:
                raise _wecom_error(40008, "invalid message type", Refusal.BAD_MESSAGE)
            text = _wecom_text(body, str(msgtype))
            self._check_rate(robot, _wecom_error(45009, "api freq out of limit"))
            self._accept(robot, str(msgtype), text, body)
        except _Refused as refused:
            return self._refuse(Platform.WECOM, refused, self._wecom_json(refused))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _wecom_json(self, refused: _Refused) -> JSON:
        # WeCom appends a request hint and a help link to every error message.
        hint = f"{int(self._clock())}{next(self._hints):06d}"
        errmsg = (
            f"{refused.message}, hint: [{hint}], from ip: 127.0.0.1, "
            f"more info at https://open.work.weixin.qq.com/devtool/query?e={refused.code}"
        )
        return {"errcode": refused.code, "errmsg": errmsg}

    # ---- HTTP: 钉钉 -----------------------------------------------------------------------------------

    async def _handle_dingtalk(self, request: web.Request) -> web.StreamResponse:
        try:
            robot = self._known(
                Platform.DINGTALK,
                request.query.get("access_token", ""),
                _Refused(Refusal.INVALID_KEY, 300001, "token is not exist"),
            )
            fault = self._take_fault(robot)
            if fault is not None:
                return fault
            if robot.secret is not None:
                self._check_dingtalk_sign(
                    robot.secret, request.query.get("timestamp"), request.query.get("sign")
                )
            if self._clock() < robot.blocked_until:
                raise _dingtalk_too_fast()
            raw = await request.read()
            if len(raw) > DINGTALK_MAX_BODY_BYTES:
                raise _Refused(Refusal.TOO_LONG, 460101, "message too long, exceed 20000 bytes")
            body = _parse_json(raw, _Refused(Refusal.BAD_MESSAGE, 40035, "缺少参数 json"))
            msgtype = body.get("msgtype")
            if msgtype not in DINGTALK_MSGTYPES:
                raise _Refused(Refusal.BAD_MESSAGE, 40035, "缺少参数 json")
            text = _dingtalk_text(body, str(msgtype))
            _check_keywords(
                robot, text + "\n" + _dingtalk_title(body, str(msgtype)), _dingtalk_keyword_error()
            )
            try:
                self._check_rate(robot, _dingtalk_too_fast())
            except _Refused:
                robot.blocked_until = self._clock() + self._dingtalk_penalty
                raise
            self._accept(robot, str(msgtype), text, body)
        except _Refused as refused:
            return self._refuse(
                Platform.DINGTALK, refused, {"errcode": refused.code, "errmsg": refused.message}
            )
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _check_dingtalk_sign(self, secret: str, timestamp: str | None, sign: str | None) -> None:
        if not timestamp or not sign or not timestamp.isdigit():
            raise _Refused(Refusal.BAD_SIGNATURE, 310000, "sign not match")
        if abs(self._clock() * 1000 - int(timestamp)) > DINGTALK_TIMESTAMP_SKEW_MS:
            raise _Refused(Refusal.STALE_TIMESTAMP, 310000, "invalid timestamp")
        # aiohttp has already URL-decoded the query: an unencoded "+" arrives as " " and fails, as on DingTalk.
        if not hmac.compare_digest(sign, dingtalk_sign(timestamp, secret)):
            raise _Refused(Refusal.BAD_SIGNATURE, 310000, "sign not match")

    # ---- HTTP: 飞书 -----------------------------------------------------------------------------------

    async def _handle_feishu(self, request: web.Request) -> web.StreamResponse:
        try:
            robot = self._known(
                Platform.FEISHU,
                request.match_info["hook_id"],
                _Refused(
                    Refusal.INVALID_KEY, 19001, "param invalid: incoming webhook access token invalid", 400
                ),
            )
            fault = self._take_fault(robot)
            if fault is not None:
                return fault
            raw = await request.read()
            if len(raw) > FEISHU_MAX_BODY_BYTES:
                raise _Refused(Refusal.TOO_LONG, 9499, "Bad Request", 400)
            body = _parse_json(raw, _Refused(Refusal.BAD_MESSAGE, 9499, "Bad Request", 400))
            if robot.secret is not None:
                self._check_feishu_sign(robot.secret, body.get("timestamp"), body.get("sign"))
            msg_type = body.get("msg_type")
            if msg_type not in FEISHU_MSG_TYPES:
                raise _Refused(Refusal.BAD_MESSAGE, 9499, "Bad Request", 400)
            text = _feishu_text(body, str(msg_type))
            _check_keywords(robot, text, _Refused(Refusal.KEYWORD, 19024, "Key Words Not Found"))
            self._check_rate(robot, _Refused(Refusal.RATE_LIMITED, 9499, "too many request", 400))
            self._accept(robot, str(msg_type), text, body)
        except _Refused as refused:
            answer = {"code": refused.code, "msg": refused.message, "data": {}}
            return self._refuse(Platform.FEISHU, refused, answer)
        return web.json_response(
            {
                "code": 0,
                "msg": "success",
                "data": {},
                # Kept by Feishu for old clients ("冗余字段，用于兼容存量历史逻辑").
                "Extra": None,
                "StatusCode": 0,
                "StatusMessage": "success",
            }
        )

    def _check_feishu_sign(self, secret: str, timestamp: object, sign: object) -> None:
        refusal = "sign match fail or timestamp is not within one hour from current time"
        if not isinstance(sign, str) or not str(timestamp).isdigit():
            raise _Refused(Refusal.BAD_SIGNATURE, 19021, refusal)
        if abs(self._clock() - int(str(timestamp))) > FEISHU_TIMESTAMP_SKEW_S:
            raise _Refused(Refusal.STALE_TIMESTAMP, 19021, refusal)
        if not hmac.compare_digest(sign, feishu_sign(str(timestamp), secret)):
            raise _Refused(Refusal.BAD_SIGNATURE, 19021, refusal)

    # ---- shared ------------------------------------------------------------------------------------

    def _add(
        self,
        platform: Platform,
        robot_id: str,
        secret: str | None,
        keywords: tuple[str, ...],
        windows: list[_SlidingWindow],
    ) -> None:
        if (platform, robot_id) in self._robots:
            raise ValueError(f"{platform} robot {robot_id!r} is already registered")
        self._robots[(platform, robot_id)] = _Robot(platform, robot_id, secret, keywords, windows)

    def _robot(self, platform: Platform, robot_id: str) -> _Robot:
        try:
            return self._robots[(platform, robot_id)]
        except KeyError:
            raise KeyError(f"no {platform} robot {robot_id!r} registered") from None

    def _known(self, platform: Platform, robot_id: str, invalid: _Refused) -> _Robot:
        self.requests += 1
        robot = self._robots.get((platform, robot_id))
        if robot is None or robot.revoked:
            raise invalid
        return robot

    def _take_fault(self, robot: _Robot) -> web.Response | None:
        if not robot.faults:
            return None
        fault = robot.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            robot.faults.popleft()
        self.refusals[(robot.platform, Refusal.FAULT)] += 1
        return web.Response(status=fault.status, text=fault.body)

    def _check_rate(self, robot: _Robot, over: _Refused) -> None:
        """Count the message in every window, or refuse it; only messages that would be shown count."""
        now = self._clock()
        if any(window.wait_needed(now) > 0 for window in robot.windows):
            raise over
        for window in robot.windows:
            window.record(now)

    def _accept(self, robot: _Robot, msgtype: str, text: str, body: JSON) -> None:
        self.received.append(RobotMessage(robot.platform, robot.robot_id, msgtype, text, self._clock(), body))
        self._received_pulse.fire()

    def _refuse(self, platform: Platform, refused: _Refused, answer: JSON) -> web.Response:
        self.refusals[(platform, refused.reason)] += 1
        return web.json_response(answer, status=refused.status)


# ---- per-platform helpers -----------------------------------------------------------------------------


def _wecom_error(code: int, message: str, reason: Refusal | None = None) -> _Refused:
    default = {93000: Refusal.INVALID_KEY, 45009: Refusal.RATE_LIMITED, 40058: Refusal.TOO_LONG}
    return _Refused(reason or default.get(code, Refusal.BAD_MESSAGE), code, message)


def _wecom_text(body: JSON, msgtype: str) -> str:
    """The content of a text or markdown message, with WeCom's byte limits; other types record no text."""
    limits = {"text": WECOM_TEXT_MAX_BYTES, "markdown": WECOM_MARKDOWN_MAX_BYTES}
    if msgtype not in limits:
        return ""
    part = body.get(msgtype)
    content = part.get("content") if isinstance(part, dict) else None
    if not isinstance(content, str):
        raise _wecom_error(40035, "invalid Request Parameter", Refusal.BAD_MESSAGE)
    if len(content.encode()) > limits[msgtype]:
        raise _wecom_error(
            40058, f"{msgtype}.content exceed max length {limits[msgtype]}. invalid Request Parameter"
        )
    return content


def _dingtalk_too_fast() -> _Refused:
    return _Refused(Refusal.RATE_LIMITED, 130101, "send too fast, exceed 20 times per minute")


def _dingtalk_keyword_error() -> _Refused:
    return _Refused(Refusal.KEYWORD, 310000, "keywords not in content")


def _dingtalk_text(body: JSON, msgtype: str) -> str:
    part = body.get(msgtype)
    if not isinstance(part, dict):
        raise _Refused(Refusal.BAD_MESSAGE, 40035, "缺少参数 json")
    field_name = "content" if msgtype == "text" else "text"
    value = part.get(field_name, "")
    if msgtype == "feedCard":
        value = "\n".join(
            str(link.get("title", "")) for link in part.get("links", []) if isinstance(link, dict)
        )
    if not isinstance(value, str) or (msgtype != "feedCard" and not value):
        raise _Refused(Refusal.BAD_MESSAGE, 40035, "缺少参数 json")
    return value


def _dingtalk_title(body: JSON, msgtype: str) -> str:
    part = body.get(msgtype)
    return str(part.get("title", "")) if isinstance(part, dict) else ""


def _feishu_text(body: JSON, msg_type: str) -> str:
    """The readable text of a text, post or interactive message (strings found under text/content keys)."""
    if msg_type == "interactive":
        card = body.get("card")
        if not isinstance(card, dict):
            raise _Refused(Refusal.BAD_MESSAGE, 9499, "Bad Request", 400)
        return "\n".join(_strings_under(card, ("content", "text", "title")))
    content = body.get("content")
    if not isinstance(content, dict):
        raise _Refused(Refusal.BAD_MESSAGE, 9499, "Bad Request", 400)
    if msg_type == "text":
        text = content.get("text")
        if not isinstance(text, str):
            raise _Refused(Refusal.BAD_MESSAGE, 9499, "Bad Request", 400)
        return text
    if msg_type == "post":
        post = content.get("post")
        if not isinstance(post, dict) or not post:
            raise _Refused(Refusal.BAD_MESSAGE, 9499, "Bad Request", 400)
        return "\n".join(_strings_under(post, ("title", "text")))
    return ""


def _strings_under(node: object, keys: tuple[str, ...]) -> list[str]:
    if isinstance(node, dict):
        found: list[str] = []
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_strings_under(value, keys))
        return found
    if isinstance(node, list):
        return [text for item in node for text in _strings_under(item, keys)]
    return []


def _check_keywords(robot: _Robot, text: str, refused: _Refused) -> None:
    if robot.keywords and not any(keyword in text for keyword in robot.keywords):
        raise refused


def _parse_json(raw: bytes, refused: _Refused) -> JSON:
    try:
        body = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        raise refused from None
    if not isinstance(body, dict):
        raise refused
    return body


async def _json_body(request: web.Request, refused: _Refused) -> JSON:
    return _parse_json(await request.read(), refused)
