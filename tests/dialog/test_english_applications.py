"""An enterprise that chose English (/lang en) walks a commitment, a repair application and an objection
to the submit step and reads no Chinese but data: names, decision numbers, what it typed, file names, and
the letters it confirms (Chinese by design: notifications/letters.py). Issue #9."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.app import App
from bot.dialogs import commitment, fulfilment, objection
from bot.i18n import translate
from models import BindingCode, ButtonToken, CreditRecord, Subject
from tests.support.chat import JPEG, PDF, ChatUser, upload
from workflows import rules
from workflows.commitments import COMMITMENT_TYPES, FULFILMENT_LABELS

CJK = re.compile(r"[\u4e00-\u9fff]")


def assert_english(user: ChatUser, *data: str, letter: bool = False) -> None:
    """The last screen and its buttons, data values taken out, have no Chinese. A screen that shows a
    letter is checked up to the letter (after the prompt's closing colon)."""
    text = user.text.split(":\n\n", 1)[0] if letter else user.text
    shown = "\n".join([text, *(b.label for b in user.buttons)])
    for value in data:
        shown = shown.replace(value, "")
    assert not CJK.search(shown), shown


async def _english(app: App, code: str, chat: str) -> tuple[ChatUser, list[str], list[CreditRecord]]:
    """A bound enterprise chat switched to English, its data values (name, its records' numbers and
    deciding authorities) and its records."""
    user = ChatUser(app.engine, chat)
    await user.send(f"/start {code}")
    await user.send("/lang en")
    async with app.sessions() as s:
        subject_id = (await s.exec(select(BindingCode.subject_id).where(BindingCode.code == code))).one()
        subject = await s.get(Subject, subject_id)
        assert subject is not None
        records = list(
            (await s.exec(select(CreditRecord).where(CreditRecord.subject_id == subject_id))).all()
        )
    data = [subject.name, *(r.decision_no or "" for r in records), *(r.authority for r in records)]
    return user, [d for d in data if d], records


async def _press_action(app: App, user: ChatUser, action: str, **payload: object) -> None:
    """Press the button of another module's screen by what it does (its English is not this test's)."""
    async with app.sessions() as s:
        tokens = (
            await s.exec(
                select(ButtonToken).where(ButtonToken.chat_id == user.chat_id, ButtonToken.action == action)
            )
        ).all()
    [token] = [t for t in tokens if all(t.payload.get(k) == v for k, v in payload.items())]
    await user.press_data(token.token)


async def test_a_tolerance_commitment_in_english(demo: App) -> None:
    user, data, _ = await _english(demo, "ENTB2468", "e")
    await user.press("✍️")
    assert "choose a type" in user.text
    assert_english(user)
    await user.press("Acceptance with missing materials")
    assert "What it means:" in user.text and "If you break it:" in user.text
    assert_english(user)
    await user.press("Continue")
    assert_english(user)
    await user.press("Renewal of a professional qualification certificate")
    assert "list the secondary materials" in user.text
    assert_english(user)
    await user.send("体检证明")
    assert "The latest is 2026-12-01" in user.text
    assert_english(user)
    await user.press("Within 3 working days")
    assert_english(user, letter=True)
    await user.press("Confirm commitment")
    assert "Commitment made, commitment code: 370400" in user.text
    assert_english(user, *data, "体检证明")
    await user.press("My commitments")
    assert "Acceptance with missing materials" in user.text and "missing materials due by" in user.text
    assert_english(user, *data)
    await user.press("Hand in materials")  # follow_up.py: what is owed, and how to hand it in
    assert "Missing materials · commitment 370400" in user.text
    assert_english(user, *data, "体检证明")
    await user.send_file(upload("体检证明.pdf", PDF))
    assert_english(user, "体检证明.pdf")
    await user.press("Send")
    assert "Sent as BQ" in user.text
    assert_english(user)


async def test_a_repair_application_in_english(demo: App) -> None:
    user, data, records = await _english(demo, "ENTA2468", "a")
    await user.press("📋")
    [record] = [r for r in records if "0412号" in (r.decision_no or "")]  # 一般, fulfilled, 190 days old
    await _press_action(demo, user, "records.detail", record_id=record.id)
    await _press_action(demo, user, "repair.start", record_id=record.id)
    assert "You can apply" in user.text and "Step 1 of 3" in user.text
    assert_english(user, *data, "令36号")  # the regulation's number, like a decision number
    await user.send("here is the receipt")
    assert "This step needs a file (PDF, JPG, PNG" in user.text
    assert_english(user)
    await user.send_file(upload("缴款凭证.jpg", JPEG, "image/jpeg"))
    assert "Step 2 of 3" in user.text
    assert_english(user)
    await user.press("No, I am an agent")
    assert_english(user)
    await user.send_file(upload("授权委托书.pdf", PDF))
    assert "Step 3 of 3" in user.text
    assert_english(user, letter=True)
    await user.press("Confirm the letter")
    assert "Check the materials" in user.text
    assert_english(user, "缴款凭证.jpg", "授权委托书.pdf")
    await user.press("Submit the application")
    assert "Application submitted as XF202611240001" in user.text and "2026-12-08" in user.text
    assert_english(user)
    await user.press("Status")
    assert "Credit repair application XF202611240001" in user.text
    assert_english(user, *data, *_timeline(user))


async def test_an_objection_in_english(demo: App) -> None:
    user, data, records = await _english(demo, "ENTB2468", "b")
    await user.press("📋")
    record = records[0]
    await _press_action(demo, user, "records.detail", record_id=record.id)
    await _press_action(demo, user, "objection.start", record_id=record.id)
    assert "Objection to “Credit record" in user.text and "Step 1 of 4" in user.text
    assert_english(user, *data)
    await user.send("wrong")
    assert "Choose a reason with the buttons" in user.text
    await user.press("Information wrong")
    assert "Step 2 of 4" in user.text
    assert_english(user)
    await user.send("The fine should be 1,000 yuan; the decision was amended, see the file.")
    assert "Step 3 of 4" in user.text and "0 uploaded so far" in user.text
    assert_english(user)
    await user.send_file(upload("变更决定书.pdf", PDF))
    assert_english(user)
    await user.press("Done")
    assert "Step 4 of 4" in user.text
    assert_english(user, letter=True)
    await user.press("Confirm the letter")
    assert "1. Reason: Information wrong" in user.text and "3. Evidence: 1 file(s)" in user.text
    assert_english(user, *data)
    await user.press("Submit the objection")
    assert "Objection submitted as YY" in user.text and "under objection" in user.text
    assert_english(user)


def _timeline(user: ChatUser) -> list[str]:
    """The status view's steps name audit actions as stored (bot/dialogs/common.timeline_lines)."""
    return [line for line in user.text.split("\n") if line.startswith("· ")]


def test_the_chinese_only_words_of_workflows_shown_here_have_english() -> None:
    """The copies marked in the dialogs (WORKFLOW_WORDS) still match workflows/ and are translated."""
    shown = [
        *(text for t in COMMITMENT_TYPES.values() for text in (t.meaning, t.obligation, t.breach)),
        *(m.name for m in rules.COMMITMENT_MATTERS),
        *FULFILMENT_LABELS.values(),
        *rules.OBJECTION_REASONS,
        *rules.FULFILMENT_METHODS,
    ]
    marked = {*commitment.WORKFLOW_WORDS, *objection.WORKFLOW_WORDS, *fulfilment.WORKFLOW_WORDS}
    assert [w for w in shown if w not in marked] == []
    assert [w for w in shown if CJK.search(translate(w, "en"))] == []
    assert set(objection.OUTCOME_LINES) == {"更正", "维持"}  # as workflows/objections.decide stores them
