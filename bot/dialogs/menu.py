"""The main menu, which adapts to who is talking, and the commands every state understands."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.replies import Button
from workflows.audit import log_change
from workflows.binding import looks_like_code
from workflows.errors import UserError
from workflows.identity import binding_labels, chat_bindings, resolve_identity
from workflows.staff import allowed
from workflows.validation import mask_id_number

# Command menu per language (Telegram setMyCommands); the engine accepts exactly these.
COMMAND_MENU = {
    "zh": [
        ("start", "开始 / 绑定"),
        ("menu", "主菜单"),
        ("help", "帮助"),
        ("cancel", "取消当前操作"),
        ("lang", "切换语言 English"),
        ("notices", "通知开关（法定通知照常送达）"),
    ],
    "en": [
        ("start", "Start / bind"),
        ("menu", "Main menu"),
        ("help", "Help"),
        ("cancel", "Cancel"),
        ("lang", "中文 / English"),
        ("notices", "Notices on/off (legal notices always)"),
    ],
}
COMMANDS = frozenset(name for name, _ in COMMAND_MENU["zh"])


async def run_command(ctx: Ctx, name: str, arg: str) -> None:
    if name == "start":
        if arg:  # deep link t.me/<bot>?start=<code>
            from bot.dialogs.binding import try_code

            await try_code(ctx, arg)
            return
        ctx.goto("menu")
        await show_menu(
            ctx, ctx.t("您好，这里是信用交通助手。", "Hello, this is the Credit Transport Assistant.")
        )
    elif name == "menu":
        ctx.goto("menu")
        await show_menu(ctx)
    elif name == "cancel":
        was = ctx.state.state
        ctx.goto("menu")
        await show_menu(
            ctx,
            ctx.t("已取消当前操作，已填写的草稿会保留。", "Cancelled; drafts are kept.")
            if was != "menu"
            else ctx.t("当前没有进行中的操作。", "Nothing to cancel."),
        )
    elif name == "help":
        show_help(ctx)
    elif name == "lang":
        choice = arg.lower()
        if choice not in ("", "zh", "en"):
            raise UserError("用法：/lang zh 或 /lang en", "Usage: /lang zh or /lang en")
        ctx.state.lang = choice or ("zh" if ctx.lang == "en" else "en")
        await show_menu(ctx, ctx.t("已切换为中文。", "Language: English."))
    elif name == "notices":
        choice = arg.lower()
        if choice not in ("", "on", "off"):
            raise UserError("用法：/notices on 或 /notices off", "Usage: /notices on or /notices off")
        ctx.state.notices_muted = (not ctx.state.notices_muted) if not choice else choice == "off"
        await log_change(
            ctx.session,
            actor=ctx.actor,
            action="notices.muted" if ctx.state.notices_muted else "notices.unmuted",
            entity="conversation_state",
            entity_id=ctx.state.id,
        )
        ctx.say(
            ctx.t(
                "🔕 已暂停非必要通知（提醒、摘要、机会提示）。依法须送达的通知（三书同达、审核结果、约谈通知）"
                "仍会发送。发送 /notices on 恢复。",
                "🔕 Optional notices paused; legally required ones still arrive. /notices on to resume.",
            )
            if ctx.state.notices_muted
            else ctx.t("🔔 已恢复全部通知。", "🔔 All notices resumed.")
        )


async def unknown_text(ctx: Ctx, text: str) -> None:
    """Free text where a button is expected. An unbound user typing a code is binding, not chatting."""
    if ctx.identity.role == "unbound" and looks_like_code(text):
        from bot.dialogs.binding import try_code

        await try_code(ctx, text)
        return
    raise UserError(
        "请使用消息下方的按钮操作，或发送 /menu 打开主菜单、/help 查看帮助。",
        "Please use the buttons, or send /menu or /help.",
    )


def _subject_line(ctx: Ctx) -> str:
    ident = ctx.identity
    if ident.staff is not None:
        return ctx.t(
            f"当前身份：工作人员 {ident.staff.name}（{ident.staff.department}）",
            f"Signed in as staff {ident.staff.name} ({ident.staff.department})",
        )
    s = ident.subject
    if s is None:
        return ctx.t(
            "您还没有绑定企业或驾驶员身份。请输入工作人员提供的绑定码。",
            "You are not bound yet. Enter the binding code you were given.",
        )
    if s.uscc:
        return ctx.t(f"当前主体：{s.name}（统一社会信用代码 {s.uscc}）", f"Subject: {s.name} (USCC {s.uscc})")
    return ctx.t(
        f"当前驾驶员：{s.name}（从业资格证 {mask_id_number(s.cert_no or '')}）",
        f"Driver: {s.name} (certificate {mask_id_number(s.cert_no or '')})",
    )


async def show_menu(ctx: Ctx, intro: str | None = None, *, edit: bool = False) -> None:
    role = ctx.identity.role
    rows: list[list[Button]] = []
    if role == "unbound":
        rows.append([ctx.button(ctx.t("🔑 输入绑定码", "🔑 Enter binding code"), "bind.start")])
        rows.append(
            [ctx.button(ctx.t("📝 没有绑定码？申请绑定", "📝 No code? Ask to be bound"), "bind.request")]
        )
    elif role == "enterprise":
        rows.append([ctx.button(ctx.t("📋 我的信用记录", "📋 My credit records"), "records.list", page=0)])
        rows.append(
            [
                ctx.button(ctx.t("✍️ 信用承诺", "✍️ Commitments"), "commit.menu"),
                ctx.button(ctx.t("📂 我的申请", "📂 My applications"), "apps.list"),
            ]
        )
    elif role == "driver":
        rows.append([ctx.button(ctx.t("🚗 我的诚信考核", "🚗 My integrity assessment"), "driver.assessment")])
        rows.append([ctx.button(ctx.t("📂 我的申请", "📂 My applications"), "apps.list")])
    elif role == "staff":
        rows.append(
            [
                ctx.button(ctx.t("📥 待办", "📥 To do"), "staff.queue"),
                ctx.button(ctx.t("🔑 签发绑定码", "🔑 Binding code"), "staff.issue_code"),
            ]
        )
        rows.append(
            [
                ctx.button(ctx.t("🔎 信用核查", "🔎 Look up"), "staff.lookup"),
                ctx.button(ctx.t("📅 约谈", "📅 Interviews"), "interview.list"),
            ]
        )
        manage = [ctx.button(ctx.t("🔕 通知设置", "🔕 Notices"), "staff.mute")]
        if any(allowed(ctx.identity.staff, a) for a in ("data.import", "subject.manage", "lists.monthly")):
            manage.append(ctx.button(ctx.t("📦 数据管理", "📦 Data"), "data.menu"))
        rows.append(manage)
        if allowed(ctx.identity.staff, "staff.manage"):
            rows.append([ctx.button(ctx.t("👥 人员管理", "👥 Staff"), "admin.staff")])
    if role != "unbound":
        rows.append([ctx.button(ctx.t("➕ 绑定其他主体", "➕ Bind another"), "bind.start")])
    if ctx.identity.binding_count > 1:
        rows.append([ctx.button(ctx.t("🔄 切换主体", "🔄 Switch"), "bind.switch")])
    rows.append(
        [
            ctx.button(ctx.t("❓ 帮助", "❓ Help"), "menu.help"),
            ctx.button("🌐 English" if ctx.lang == "zh" else "🌐 中文", "menu.lang"),
        ]
    )
    text = _subject_line(ctx) + "\n" + ctx.t("请选择：", "Choose:")
    ctx.say(f"{intro}\n\n{text}" if intro else text, rows, edit=edit)


def show_help(ctx: Ctx) -> None:
    role = ctx.identity.role
    lines = [ctx.t("信用交通助手 · 帮助", "Credit Transport Assistant · Help"), ""]
    if role == "unbound":
        lines.append(
            ctx.t(
                "1. 向交通运输局工作人员索取 8 位绑定码（72 小时内有效，只能用一次）；\n"
                "2. 点击「输入绑定码」或直接发送绑定码，即可查看本企业或本人的信用信息。",
                "1. Ask the transport bureau for an 8-character binding code (valid 72 hours, single use);\n"
                "2. Tap 'Enter binding code' or just send the code.",
            )
        )
    elif role == "enterprise":
        lines.append(
            ctx.t(
                "「我的信用记录」：查看本企业的信用记录、公示期限、何时可以申请信用修复；在记录详情里申请修复或提出异议。\n"
                "「信用承诺」：作出告知承诺、容缺受理等信用承诺，查看履行状态。\n「我的申请」：查看修复申请和异议的进度。",
                "'My credit records': your records, publicity periods and when each can be repaired.",
            )
        )
    elif role == "driver":
        lines.append(
            ctx.t(
                "「我的诚信考核」：查看本考核周期的扣分、对应等级、每条违章，以及往期等级。",
                "'My integrity assessment': this cycle's points, grade, violations and past grades.",
            )
        )
    elif role == "staff":
        lines.append(
            ctx.t(
                "「签发绑定码」：输入企业统一社会信用代码或驾驶员从业资格证号，生成一次性绑定码。",
                "'Issue a binding code': enter a USCC or certificate number to get a one-time code.",
            )
        )
    lines += ["", ctx.t("命令：", "Commands:")]
    lines += [f"/{name} — {desc}" for name, desc in COMMAND_MENU[ctx.lang]]
    ctx.say("\n".join(lines), [[ctx.button(ctx.t("⬅️ 主菜单", "⬅️ Menu"), "menu.show")]])


@registry.action("menu.show")
async def _menu(ctx: Ctx, _: dict) -> None:
    ctx.goto("menu")
    await show_menu(ctx, edit=True)


@registry.action("menu.help")
async def _help(ctx: Ctx, _: dict) -> None:
    show_help(ctx)


@registry.action("menu.lang")
async def _lang(ctx: Ctx, _: dict) -> None:
    await run_command(ctx, "lang", "")


@registry.action("bind.switch")
async def _switch(ctx: Ctx, _: dict) -> None:
    bindings = await chat_bindings(ctx.session, ctx.state.channel, ctx.state.chat_id)
    rows = [
        [ctx.button(label, "bind.use", binding_id=b.id)]
        for b, label in await binding_labels(ctx.session, bindings)
    ]
    ctx.say(ctx.t("请选择要使用的身份：", "Choose who you act as:"), rows, edit=True)


@registry.action("bind.use")
async def _use(ctx: Ctx, payload: dict) -> None:
    bindings = await chat_bindings(ctx.session, ctx.state.channel, ctx.state.chat_id)
    if payload["binding_id"] not in {b.id for b in bindings}:
        raise UserError("该绑定已失效。", "That binding is no longer active.")
    ctx.state.active_binding_id = payload["binding_id"]
    ctx.identity = await resolve_identity(ctx.session, ctx.state)
    ctx.goto("menu")
    await show_menu(ctx, edit=True)
