"""An enterprise that chose English (/lang en) walks a commitment, a repair application and an objection
to the submit step and reads no Chinese but data: names, decision numbers, what it typed, file names, and
the letters it confirms (Chinese by design: notifications/letters.py). Issue #9."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po
from sqlmodel import select

from bot.app import App
from bot.dialogs import objection
from bot.i18n import LOCALE_DIR
from models import BindingCode, ButtonToken, CommitmentKind, CreditRecord, Subject
from tests.support.chat import JPEG, PDF, ChatUser, upload
from tests.unit.test_workflow_words_english import workflow_words
from workflows.commitments import COMMITMENT_TYPES

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
    tolerance = COMMITMENT_TYPES[CommitmentKind.TOLERANCE]
    await user.press(tolerance.name_en)
    assert f"What it means: {tolerance.meaning_en}" in user.text
    assert f"If you break it: {tolerance.breach_en}" in user.text
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
    assert "Renewal of a professional qualification certificate" in user.text and "to be decided" in user.text
    assert_english(user, *data)
    await user.press("Hand in materials")  # follow_up.py: what is owed, and how to hand it in
    assert "Missing materials · commitment 370400" in user.text
    assert_english(user, *data, "体检证明")
    await user.send_file(upload("体检证明.pdf", PDF))
    assert_english(user, "体检证明.pdf")
    await user.press("Send")
    assert "Sent as BQ" in user.text
    assert_english(user)


async def test_a_barred_enterprise_is_told_why_in_english(demo: App) -> None:
    user, data, _ = await _english(demo, "ENTC2468", "c")  # on the serious dishonesty list
    await user.press("✍️")
    assert "unavailable because you have an unrepaired serious dishonesty record (" in user.text
    assert "Acceptance with missing materials" not in [b.label for b in user.buttons]
    assert_english(user, *data)


async def test_a_repair_application_in_english(demo: App) -> None:
    user, data, records = await _english(demo, "ENTA2468", "a")
    await user.press("📋")
    [record] = [r for r in records if "0412号" in (r.decision_no or "")]  # 一般, fulfilled, 190 days old
    await _press_action(demo, user, "records.detail", record_id=record.id)
    await _press_action(demo, user, "repair.start", record_id=record.id)
    assert "You can apply (procedure under NDRC Order 36 (2025))" in user.text and "Step 1 of 3" in user.text
    assert_english(user, *data)
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


# The dialogs that show words of workflows/ in English: none of them copies such a word into its catalog.
DIALOGS = ("commitment", "objection", "repair", "fulfilment", "follow_up", "common", "records", "assessment")


def _catalog(name: str) -> dict[str, str]:
    path = LOCALE_DIR / "en" / "LC_MESSAGES" / f"{name}.po"
    with path.open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po, locale="en") if m.id}


def test_the_words_of_workflows_shown_here_take_their_english_from_workflows() -> None:
    """The dialogs show the English that workflows/ carry (CommitmentType.meaning_en, Matter.name_en,
    rules.OBJECTION_REASONS_EN, …), not copies in their catalogs that could drift from it; a catalog that
    still holds a copy (another module's, for now) translates it as workflows/ do."""
    words = dict(workflow_words())
    copied = {name: sorted(set(_catalog(name)) & set(words)) for name in DIALOGS}
    assert {name: found for name, found in copied.items() if found} == {}
    drifted = [
        f"{path.stem}: {zh!r} → {en!r}, workflows/ say {words[zh]!r}"
        for path in sorted((LOCALE_DIR / "en" / "LC_MESSAGES").glob("*.po"))
        for zh, en in _catalog(path.stem).items()
        if zh in words and en and en != words[zh]
    ]
    assert drifted == []
    assert set(objection.OUTCOME_LINES) == {"更正", "维持"}  # as workflows/objections.decide stores them
