"""English screens hold no Chinese but data (issue #9): the names, numbers and texts the database holds in
Chinese are taken out of a screen, and whatever Chinese is left came from the code."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.app import App
from models import CreditRecord, DriverViolation, Material, Objection, Staff, Subject
from tests.support.chat import ChatUser
from workflows.validation import mask_name

CJK = re.compile(r"[\u4e00-\u9fff]+")
# The language switch names the other language in itself (menu button and /lang's description).
LANGUAGE_SWITCH = ("🌐 中文", "中文 / English")


async def data_values(app: App, *extra: str) -> list[str]:
    """What the database holds in Chinese and a screen may show as it is, longest first."""
    values: set[str] = {*extra, *LANGUAGE_SWITCH}
    async with app.sessions() as s:
        for subject in (await s.exec(select(Subject))).all():
            values |= {subject.name, mask_name(subject.name), subject.department or "", subject.category}
        for staff in (await s.exec(select(Staff))).all():
            values |= {staff.name, staff.department}
        for r in (await s.exec(select(CreditRecord))).all():
            values |= {r.decision_no or "", r.authority, r.penalty_type or "", r.facts, r.basis, r.content}
            values.add(r.fulfilment_method or "")
        for v in (await s.exec(select(DriverViolation))).all():
            values |= {v.item, v.authority or "", v.decision_no or ""}
        values |= {o.description for o in (await s.exec(select(Objection))).all()}
        values |= {m.file_name for m in (await s.exec(select(Material))).all()}
    return sorted((v for v in values if v and CJK.search(v)), key=len, reverse=True)


def screen_of(user: ChatUser) -> str:
    """The last screen: texts, button labels and the names of files sent."""
    parts = []
    for reply in user.last.replies:
        parts += [reply.text, *(b.label for row in reply.buttons for b in row)]
        if reply.document is not None:
            parts.append(reply.document.file_name)
    return "\n".join(parts)


async def assert_english(app: App, user: ChatUser, *extra: str) -> None:
    """No Chinese on the last screen once the data values (and `extra`, e.g. what was typed) are out."""
    screen = screen_of(user)
    assert screen.strip(), "an empty screen proves nothing"
    stripped = screen
    for value in await data_values(app, *extra):
        stripped = stripped.replace(value, "")
    assert not CJK.search(stripped), f"Chinese {CJK.findall(stripped)} on an English screen:\n{screen}"
