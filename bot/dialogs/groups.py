"""Group chats: nobody is anybody here. Identity and data live in private chats; a group is told so
once, and an admin may make it a department's alert group (notices only).

group event → /alertgroup [部门|off] by an admin (known from their private chat) → registered
            → a binding code → "use it in a private chat" (the code stays valid)
            → a button → toast only
            → /start /help, or the first message ever → the one short explanation; anything else: silence
"""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs.common import listing
from bot.i18n import N_, translate
from workflows import alert_groups
from workflows.binding import looks_like_code
from workflows.clock import utc_now
from workflows.identity import staff_of_person
from workflows.staff import allowed

# Commands the bot answers in groups (Telegram shows them with scope all_group_chats); the English list
# is read from the catalog.
_GROUP_COMMANDS = (("help", N_("说明")), ("alertgroup", N_("设为部门提醒群（管理员）")))
GROUP_COMMAND_MENU = {
    lang: [(name, translate(desc, lang)) for name, desc in _GROUP_COMMANDS] for lang in ("zh", "en")
}
# What an admin may type after /alertgroup to stop a group's alerts.
STOP_WORDS = ("off", "取消", "关闭")  # not UI: words read from what the admin typed


def _command(text: str | None) -> tuple[str, str] | None:
    if not text or not text.startswith("/"):
        return None
    name, _, arg = text[1:].partition(" ")
    return name.split("@", 1)[0].lower(), arg.strip()


async def on_group_event(ctx: Ctx) -> None:
    event = ctx.event
    if event.callback is not None:
        # Buttons in a group would act for whoever pressed them: none are honoured.
        ctx.notice(ctx._("请在与机器人的私聊中操作"))
        return
    group = await alert_groups.alert_group_of(ctx.session, ctx.state.channel, ctx.state.chat_id)
    command = _command((event.text or "").strip())
    if command is not None and command[0] == "alertgroup":
        await _alert_group_command(ctx, command[1])
        return
    if event.text and looks_like_code(event.text):
        ctx.say(
            ctx._(
                "⚠️ 绑定码只能在与机器人的私聊中使用，在群里不会绑定任何身份。"
                "该绑定码仍然有效，请私聊机器人发送，并建议删除本群中的这条消息。"
            )
        )
        return
    told = bool(ctx.state.data.get("group_told"))
    asked = command is not None and command[0] in ("start", "help", "menu")
    if told and not asked:
        return  # said once; a group's conversation is not ours to answer
    ctx.state.data = {**ctx.state.data, "group_told": True}
    ctx.say(_explanation(ctx, group))


def _explanation(ctx: Ctx, group: alert_groups.AlertGroup | None) -> str:
    if group is not None:
        return ctx._(
            "本群是「{department}」的提醒群，只接收提醒，不提供查询和办理。查询和办理请私聊机器人。",
            department=group.department,
        )
    return ctx._(
        "信用交通助手只在私聊中提供查询和办理（绑定、信用记录、申请、审核）。请点击机器人头像，私聊使用。"
    )


async def _alert_group_command(ctx: Ctx, arg: str) -> None:
    staff = await staff_of_person(ctx.session, ctx.state.channel, ctx.event.user_id)
    if not allowed(staff, "alerts.manage"):
        ctx.say(ctx._("只有已在私聊中绑定的管理员可以设置提醒群。"))
        return
    assert staff is not None
    if arg.lower() in STOP_WORDS:
        row = await alert_groups.unregister(
            ctx.session, channel=ctx.state.channel, chat_id=ctx.state.chat_id, staff=staff
        )
        ctx.say(ctx._("已取消本群的提醒。") if row is not None else ctx._("本群不是提醒群。"))
        return
    if not arg:
        known = await alert_groups.departments(ctx.session)
        ctx.say(
            ctx._(
                "用法：/alertgroup 部门名称（可选：{departments}）；/alertgroup off 取消。",
                departments=listing(ctx, known),
            )
        )
        return
    row = await alert_groups.register(
        ctx.session,
        channel=ctx.state.channel,
        chat_id=ctx.state.chat_id,
        title=ctx.event.chat_title or "",
        department=arg,
        staff=staff,
        now=utc_now(ctx.services.clock),
    )
    ctx.state.data = {**ctx.state.data, "group_told": True}
    ctx.say(
        ctx._(
            "✅ 本群已设为「{department}」的提醒群：风险预警、超期督办、约谈提醒和每日摘要会发到这里。"
            "群里不提供查询和办理。",
            department=row.department,
        )
    )
