"""Self-tests of the fake group-robot server (tests/support/robots.py), through real HTTP.

Signatures are computed here from the documented algorithms, not with the fake's own helpers, so a wrong
algorithm in the fake fails these tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.robots import FakeRobots, Platform, Refusal

START = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def robots(clock: Clock) -> AsyncIterator[FakeRobots]:
    async with FakeRobots(clock=clock) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    async with http.post(url, data=data, headers={"Content-Type": "application/json"}) as response:
        return response.status, await response.json(content_type=None)


# ---- 企业微信 ------------------------------------------------------------------------------------------


def wecom_text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


async def test_wecom_text_and_markdown_are_accepted_and_recorded(robots, http, clock):
    url = robots.add_wecom("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")
    assert url.endswith("/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")

    assert await post(http, url, wecom_text("苏A12345 有新的行政处罚记录")) == (
        200,
        {"errcode": 0, "errmsg": "ok"},
    )
    markdown = {
        "msgtype": "markdown",
        "markdown": {"content": '**信用修复** 待审核 <font color="warning">3</font> 件'},
    }
    assert (await post(http, url, markdown))[1]["errcode"] == 0

    first, second = robots.messages(Platform.WECOM)
    assert (first.msgtype, first.text, first.at) == ("text", "苏A12345 有新的行政处罚记录", START)
    assert (second.msgtype, second.text) == ("markdown", markdown["markdown"]["content"])
    assert (
        await robots.wait_for(lambda m: m.msgtype == "markdown")
    ).robot == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


async def test_wecom_unknown_key_gets_invalid_webhook_url(robots, http):
    url = robots.add_wecom("right-key")
    status, answer = await post(http, url.replace("right-key", "wrong-key"), wecom_text("你好"))
    assert status == 200
    assert answer["errcode"] == 93000
    assert answer["errmsg"].startswith("invalid webhook url, hint: [")
    assert answer["errmsg"].endswith("more info at https://open.work.weixin.qq.com/devtool/query?e=93000")
    assert robots.refused(Platform.WECOM, Refusal.INVALID_KEY) == 1
    assert robots.received == []


async def test_wecom_revoked_robot_is_reported_as_invalid(robots, http):
    url = robots.add_wecom("k1")
    assert (await post(http, url, wecom_text("第一条")))[1]["errcode"] == 0
    robots.revoke(Platform.WECOM, "k1")
    assert (await post(http, url, wecom_text("第二条")))[1]["errcode"] == 93000
    assert [m.text for m in robots.received] == ["第一条"]


async def test_wecom_21st_message_in_a_minute_is_refused_until_the_window_passes(robots, http, clock):
    url = robots.add_wecom("k1")
    for n in range(20):
        assert (await post(http, url, wecom_text(f"第{n}条")))[1]["errcode"] == 0
        clock.advance(1)
    answer = (await post(http, url, wecom_text("第21条")))[1]
    assert answer["errcode"] == 45009
    assert answer["errmsg"].startswith("api freq out of limit")

    clock.advance(40)  # 60 s after the first message
    assert (await post(http, url, wecom_text("第21条，等待后")))[1]["errcode"] == 0
    assert robots.refused(Platform.WECOM, Refusal.RATE_LIMITED) == 1
    assert len(robots.received) == 21


async def test_wecom_text_over_2048_bytes_and_markdown_over_4096_bytes_are_refused(robots, http):
    url = robots.add_wecom("k1")
    fits = "信" * (2048 // 3)  # 682 characters, 2046 bytes
    assert (await post(http, url, wecom_text(fits)))[1]["errcode"] == 0
    too_long = (await post(http, url, wecom_text(fits + "用")))[1]  # 2049 bytes
    assert too_long["errcode"] == 40058
    assert too_long["errmsg"].startswith("text.content exceed max length 2048.")

    markdown = {"msgtype": "markdown", "markdown": {"content": "a" * 4097}}
    assert (await post(http, url, markdown))[1]["errcode"] == 40058
    assert robots.refused(Platform.WECOM, Refusal.TOO_LONG) == 2


async def test_wecom_unknown_msgtype_is_refused(robots, http):
    url = robots.add_wecom("k1")
    assert (await post(http, url, {"msgtype": "actionCard", "actionCard": {}}))[1]["errcode"] == 40008
    assert robots.refused(Platform.WECOM, Refusal.BAD_MESSAGE) == 1


async def test_injected_fault_answers_once_then_the_robot_works(robots, http):
    url = robots.add_wecom("k1")
    robots.fail_next(Platform.WECOM, "k1", status=502, body="Bad Gateway")
    async with http.post(url, json=wecom_text("一")) as response:
        assert (response.status, await response.text()) == (502, "Bad Gateway")
    assert (await post(http, url, wecom_text("二")))[1]["errcode"] == 0
    assert robots.refused(Platform.WECOM, Refusal.FAULT) == 1


# ---- 钉钉 ---------------------------------------------------------------------------------------------

DING_SECRET = "SEC1234567890abcdef"


def ding_signed(url: str, timestamp_ms: int, secret: str = DING_SECRET) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}&timestamp={timestamp_ms}&sign={sign}"


def ding_text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}, "at": {"atMobiles": [], "isAtAll": False}}


def now_ms(clock: Clock) -> int:
    return int(clock.now * 1000)


async def test_dingtalk_signed_request_is_accepted_and_recorded(robots, http, clock):
    url = robots.add_dingtalk("tok", DING_SECRET)
    assert url.endswith("/robot/send?access_token=tok")
    status, answer = await post(http, ding_signed(url, now_ms(clock)), ding_text("异议申请已受理"))
    assert (status, answer) == (200, {"errcode": 0, "errmsg": "ok"})

    card = {
        "msgtype": "actionCard",
        "actionCard": {
            "title": "信用修复",
            "text": "### 待审核\n共 2 件",
            "singleTitle": "查看",
            "singleURL": "https://x",
        },
    }
    markdown = {"msgtype": "markdown", "markdown": {"title": "日报", "text": "#### 今日\n- 新增 1 条"}}
    for body in (card, markdown):
        assert (await post(http, ding_signed(url, now_ms(clock)), body))[1]["errcode"] == 0
    assert [(m.msgtype, m.text) for m in robots.messages(Platform.DINGTALK, "tok")] == [
        ("text", "异议申请已受理"),
        ("actionCard", "### 待审核\n共 2 件"),
        ("markdown", "#### 今日\n- 新增 1 条"),
    ]


async def test_dingtalk_bad_or_missing_signature_is_refused(robots, http, clock):
    url = robots.add_dingtalk("tok", DING_SECRET)
    wrong = ding_signed(url, now_ms(clock), secret="SECwrong")
    assert (await post(http, wrong, ding_text("x")))[1] == {"errcode": 310000, "errmsg": "sign not match"}
    assert (await post(http, url, ding_text("x")))[1] == {"errcode": 310000, "errmsg": "sign not match"}
    assert robots.refused(Platform.DINGTALK, Refusal.BAD_SIGNATURE) == 2


async def test_dingtalk_unencoded_sign_fails_like_the_real_one(robots, http, clock):
    url = robots.add_dingtalk("tok", DING_SECRET)
    for _ in range(50):  # find a timestamp whose signature contains "+", which must be URL-encoded
        timestamp = now_ms(clock)
        digest = hmac.new(
            DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256
        ).digest()
        raw_sign = base64.b64encode(digest).decode()
        if "+" in raw_sign:
            break
        clock.advance(0.001)
    else:
        pytest.fail("no signature with '+' found")
    answer = (await post(http, f"{url}&timestamp={timestamp}&sign={raw_sign}", ding_text("x")))[1]
    assert answer["errcode"] == 310000


async def test_dingtalk_timestamp_older_than_an_hour_is_refused(robots, http, clock):
    url = robots.add_dingtalk("tok", DING_SECRET)
    old = now_ms(clock) - 3_600_001
    assert (await post(http, ding_signed(url, old), ding_text("x")))[1] == {
        "errcode": 310000,
        "errmsg": "invalid timestamp",
    }
    within = now_ms(clock) - 3_599_000
    assert (await post(http, ding_signed(url, within), ding_text("x")))[1]["errcode"] == 0
    assert robots.refused(Platform.DINGTALK, Refusal.STALE_TIMESTAMP) == 1


async def test_dingtalk_unknown_or_revoked_token_is_refused(robots, http, clock):
    url = robots.add_dingtalk("tok", DING_SECRET)
    other = url.replace("access_token=tok", "access_token=nope")
    assert (await post(http, ding_signed(other, now_ms(clock)), ding_text("x")))[1] == {
        "errcode": 300001,
        "errmsg": "token is not exist",
    }
    robots.revoke(Platform.DINGTALK, "tok")
    assert (await post(http, ding_signed(url, now_ms(clock)), ding_text("x")))[1]["errcode"] == 300001
    assert robots.refused(Platform.DINGTALK, Refusal.INVALID_KEY) == 2


async def test_dingtalk_keyword_robot_refuses_messages_without_a_keyword(robots, http):
    url = robots.add_dingtalk("kw", None, keywords=["信用"])
    assert (await post(http, url, ding_text("普通通知")))[1] == {
        "errcode": 310000,
        "errmsg": "keywords not in content",
    }
    assert (await post(http, url, ding_text("信用修复通知")))[1]["errcode"] == 0


async def test_dingtalk_21st_message_is_refused_and_the_robot_stays_limited_for_ten_minutes(
    robots, http, clock
):
    url = robots.add_dingtalk("tok", DING_SECRET)
    for n in range(20):
        assert (await post(http, ding_signed(url, now_ms(clock)), ding_text(f"{n}")))[1]["errcode"] == 0
    too_fast = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
    assert (await post(http, ding_signed(url, now_ms(clock)), ding_text("21")))[1] == too_fast

    clock.advance(61)  # the minute has passed, but DingTalk 限流 the robot for 10 minutes
    assert (await post(http, ding_signed(url, now_ms(clock)), ding_text("21")))[1] == too_fast
    clock.advance(600)
    assert (await post(http, ding_signed(url, now_ms(clock)), ding_text("21")))[1]["errcode"] == 0
    assert robots.refused(Platform.DINGTALK, Refusal.RATE_LIMITED) == 2


async def test_dingtalk_body_over_20000_bytes_is_refused(robots, http, clock):
    url = robots.add_dingtalk("tok", DING_SECRET)
    answer = (await post(http, ding_signed(url, now_ms(clock)), ding_text("信" * 7000)))[1]
    assert answer == {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
    assert robots.refused(Platform.DINGTALK, Refusal.TOO_LONG) == 1


# ---- 飞书 ---------------------------------------------------------------------------------------------

FEISHU_SECRET = "nIMtb7r3N9pkXyXdtAbx6e"


def feishu_body(clock: Clock, content: dict[str, Any], secret: str = FEISHU_SECRET) -> dict[str, Any]:
    timestamp = str(int(clock.now))
    key = f"{timestamp}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return {"timestamp": timestamp, "sign": sign, **content}


def feishu_text(text: str) -> dict[str, Any]:
    return {"msg_type": "text", "content": {"text": text}}


SUCCESS = {
    "code": 0,
    "msg": "success",
    "data": {},
    "Extra": None,
    "StatusCode": 0,
    "StatusMessage": "success",
}
SIGN_FAIL = {
    "code": 19021,
    "msg": "sign match fail or timestamp is not within one hour from current time",
    "data": {},
}


async def test_feishu_signed_text_post_and_card_are_accepted_and_recorded(robots, http, clock):
    url = robots.add_feishu("5e3d587e-d78e-4a07-bd07-265f269f86fd", FEISHU_SECRET)
    assert url.endswith("/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd")
    assert await post(http, url, feishu_body(clock, feishu_text("约谈提醒"))) == (200, SUCCESS)

    post_message = {
        "msg_type": "post",
        "content": {
            "post": {"zh_cn": {"title": "风险预警", "content": [[{"tag": "text", "text": "A公司"}]]}}
        },
    }
    card = {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": "日报"}},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "待办 **3** 件"}}],
        },
    }
    for message in (post_message, card):
        assert (await post(http, url, feishu_body(clock, message)))[1]["code"] == 0
    assert [(m.msgtype, m.text) for m in robots.messages(Platform.FEISHU)] == [
        ("text", "约谈提醒"),
        ("post", "风险预警\nA公司"),
        ("interactive", "日报\n待办 **3** 件"),
    ]


async def test_feishu_bad_signature_and_old_timestamp_are_refused(robots, http, clock):
    url = robots.add_feishu("hook", FEISHU_SECRET)
    assert await post(http, url, feishu_body(clock, feishu_text("x"), secret="wrong")) == (200, SIGN_FAIL)
    assert await post(http, url, feishu_text("x")) == (200, SIGN_FAIL)  # no timestamp or sign at all

    old = feishu_body(clock, feishu_text("x"))
    clock.advance(3601)
    assert await post(http, url, old) == (200, SIGN_FAIL)
    assert robots.refused(Platform.FEISHU, Refusal.BAD_SIGNATURE) == 2
    assert robots.refused(Platform.FEISHU, Refusal.STALE_TIMESTAMP) == 1


async def test_feishu_signature_the_dingtalk_way_is_refused(robots, http, clock):
    url = robots.add_feishu("hook", FEISHU_SECRET)
    timestamp = str(int(clock.now))
    digest = hmac.new(
        FEISHU_SECRET.encode(), f"{timestamp}\n{FEISHU_SECRET}".encode(), hashlib.sha256
    ).digest()
    body = {"timestamp": timestamp, "sign": base64.b64encode(digest).decode(), **feishu_text("x")}
    assert (await post(http, url, body))[1]["code"] == 19021


async def test_feishu_unknown_hook_is_refused(robots, http, clock):
    url = robots.add_feishu("hook", FEISHU_SECRET)
    status, answer = await post(
        http, url.replace("/hook/hook", "/hook/other"), feishu_body(clock, feishu_text("x"))
    )
    assert (status, answer["code"]) == (400, 19001)
    robots.revoke(Platform.FEISHU, "hook")
    assert (await post(http, url, feishu_body(clock, feishu_text("x"))))[1]["code"] == 19001


async def test_feishu_sixth_message_in_a_second_is_refused_then_waited_out(robots, http, clock):
    url = robots.add_feishu("hook", FEISHU_SECRET)
    for n in range(5):
        assert (await post(http, url, feishu_body(clock, feishu_text(str(n)))))[1]["code"] == 0
    status, answer = await post(http, url, feishu_body(clock, feishu_text("6")))
    assert (status, answer) == (400, {"code": 9499, "msg": "too many request", "data": {}})
    clock.advance(1)
    assert (await post(http, url, feishu_body(clock, feishu_text("6"))))[1]["code"] == 0


async def test_feishu_101st_message_in_a_minute_is_refused(robots, http, clock):
    url = robots.add_feishu("hook", None)
    for n in range(100):
        assert (await post(http, url, feishu_text(str(n))))[1]["code"] == 0
        clock.advance(0.5)
    assert (await post(http, url, feishu_text("101")))[1]["code"] == 9499
    clock.advance(10)
    assert (await post(http, url, feishu_text("101")))[1]["code"] == 0


async def test_feishu_body_over_20_kb_and_unknown_msg_type_are_bad_requests(robots, http, clock):
    url = robots.add_feishu("hook", FEISHU_SECRET)
    bad_request = (400, {"code": 9499, "msg": "Bad Request", "data": {}})
    assert await post(http, url, feishu_body(clock, feishu_text("信" * 7000))) == bad_request
    assert (
        await post(http, url, feishu_body(clock, {"msg_type": "markdown", "content": {"text": "x"}}))
        == bad_request
    )
    assert robots.refused(Platform.FEISHU, Refusal.TOO_LONG) == 1
    assert robots.refused(Platform.FEISHU, Refusal.BAD_MESSAGE) == 1


async def test_feishu_keyword_robot_refuses_messages_without_a_keyword(robots, http):
    url = robots.add_feishu("kw", None, keywords=["应用报警"])
    assert await post(http, url, feishu_text("项目更新")) == (
        200,
        {"code": 19024, "msg": "Key Words Not Found", "data": {}},
    )
    assert (await post(http, url, feishu_text("应用报警：磁盘满")))[1]["code"] == 0


async def test_each_robot_has_its_own_budget(robots, http, clock):
    first, second = robots.add_wecom("a"), robots.add_wecom("b")
    for _ in range(20):
        await post(http, first, wecom_text("a"))
    assert (await post(http, first, wecom_text("a")))[1]["errcode"] == 45009
    assert (await post(http, second, wecom_text("b")))[1]["errcode"] == 0
