"""The staff rows of the authorisation matrix (issue #9): every staff action pressed by every staff role.
A role refused an action for lacking a permission (the audited `staff.refused`, naming it) is a fact about
that action; no other role that lacks the same permission may get through it. The non-staff rows are in
test_staff_review.py, the group column in test_trust_identity.py."""

from __future__ import annotations

from sqlmodel import col, select

from bot.app import App
from bot.dialogs import registry
from models import AuditEntry, ButtonToken, ConversationState, StaffRole
from tests.dialog.test_staff_review import STAFF_PAYLOAD, STAFF_PREFIXES
from tests.support.chat import ChatUser, staff_chat
from workflows.staff import PERMISSIONS

ROLES = (StaffRole.HANDLER, StaffRole.REVIEWER, StaffRole.SUPERVISOR, StaffRole.ADMIN)
# Screens open to a role holding any one of several permissions (the 数据管理 menu lists what each may do).
ANY_OF = {"data.menu": ("data.import", "subject.manage", "lists.monthly")}
NAMES = {
    StaffRole.HANDLER: "经办甲",
    StaffRole.REVIEWER: "审核乙",
    StaffRole.SUPERVISOR: "负责丙",
    StaffRole.ADMIN: "管理丁",
}


async def _press(app: App, user: ChatUser, action: str) -> None:
    async with app.sessions() as s, s.begin():
        state = (
            await s.exec(select(ConversationState).where(ConversationState.chat_id == user.chat_id))
        ).one()
        token = ButtonToken(
            channel=user.channel,
            chat_id=user.chat_id,
            action=action,
            payload=STAFF_PAYLOAD,
            screen=state.screen,
        )
        s.add(token)
    await user.press_data(token.token)
    await user.send("/menu")  # back to a known place whatever the action started


async def test_no_role_gets_through_an_action_for_a_permission_it_lacks(demo: App) -> None:
    actions = sorted(a for a in registry.actions if a.startswith(STAFF_PREFIXES))
    refusals: dict[tuple[str, StaffRole], set[str]] = {}  # (action, role) → permissions refused
    for role in ROLES:
        user = await staff_chat(demo, NAMES[role], role, f"matrix-{role.value}")
        for action in actions:
            async with demo.sessions() as s:
                before = (
                    await s.exec(select(col(AuditEntry.id)).order_by(col(AuditEntry.id).desc()))
                ).first()
            await _press(demo, user, action)
            async with demo.sessions() as s:
                refused = (
                    await s.exec(
                        select(AuditEntry.entity_id).where(
                            AuditEntry.action == "staff.refused",
                            AuditEntry.entity == "action",
                            col(AuditEntry.id) > (before or 0),
                        )
                    )
                ).all()
            refusals[(action, role)] = {p for p in refused if p}
    checked = {p for perms in refusals.values() for p in perms}
    assert len(checked) >= 5, f"too few permissions exercised to prove anything: {checked}"
    wrong = []
    for action, perms_any in ANY_OF.items():
        for role in ROLES:
            holds = any(role in PERMISSIONS[p] for p in perms_any)
            if holds == bool(refusals[(action, role)]):
                wrong.append(f"{role.value} {'refused' if holds else 'let into'} {action}")
    for action in (a for a in actions if a not in ANY_OF):
        perms = set().union(*(refusals[(action, r)] for r in ROLES))
        for role in ROLES:
            for perm in perms:
                lacks = role not in PERMISSIONS[perm]
                if lacks and perm not in refusals[(action, role)] and refusals[(action, role)] == set():
                    wrong.append(f"{role.value} got through {action} without {perm}")
                if not lacks and perm in refusals[(action, role)]:
                    wrong.append(f"{role.value} was refused {action} for {perm}, which it has")
    assert wrong == []
    # admins hold every staff permission: nothing is ever refused to them for lack of one
    assert all(refusals[(a, StaffRole.ADMIN)] == set() for a in actions)
