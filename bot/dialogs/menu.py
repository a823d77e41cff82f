"""The main menu, which adapts to who is talking, and the commands every state understands."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.i18n import N_, translate
from bot.replies import Button
from workflows.audit import log_change
from workflows.binding import looks_like_code
from workflows.errors import UserError
from workflows.identity import binding_labels, chat_bindings, resolve_identity
from workflows.staff import allowed
from workflows.validation import mask_id_number

# Command menu per language (Telegram setMyCommands): the Chinese descriptions are catalog messages, the
# English list is read from the catalog. The engine accepts exactly these commands.
_COMMANDS = (
    ("start", N_("开始 / 绑定")),
    ("menu", N_("主菜单")),
    ("help", N_("帮助")),
    ("cancel", N_("取消当前操作")),
    ("lang", N_("切换语言 English")),
    ("notices", N_("通知开关（法定通知照常送达）")),
)
COMMAND_MENU = {lang: [(name, translate(desc, lang)) for name, desc in _COMMANDS] for lang in ("zh", "en")}
COMMANDS = frozenset(name for name, _ in _COMMANDS)


async def run_command(ctx: Ctx, name: str, arg: str) -> None:
    if name == "start":
        if arg:  # deep link t.me/<bot>?start=<code>
            from bot.dialogs.binding import try_code

            await try_code(ctx, arg)
            return
        ctx.goto("menu")
        await show_menu(ctx, ctx._("您好，这里是信用交通助手。"))
    elif name == "menu":
        ctx.goto("menu")
        await show_menu(ctx)
    elif name == "cancel":
        was = ctx.state.state
        ctx.goto("menu")
        await show_menu(
            ctx,
            ctx._("已取消当前操作，已填写的草稿会保留。")
            if was != "menu"
            else ctx._("当前没有进行中的操作。"),
        )
    elif name == "help":
        show_help(ctx)
    elif name == "lang":
        choice = arg.lower()
        if choice not in ("", "zh", "en"):
            raise UserError(N_("用法：/lang zh 或 /lang en"))
        ctx.state.lang = choice or ("zh" if ctx.lang == "en" else "en")
        await show_menu(ctx, ctx._("已切换为中文。"))
    elif name == "notices":
        choice = arg.lower()
        if choice not in ("", "on", "off"):
            raise UserError(N_("用法：/notices on 或 /notices off"))
        ctx.state.notices_muted = (not ctx.state.notices_muted) if not choice else choice == "off"
        await log_change(
            ctx.session,
            actor=ctx.actor,
            action="notices.muted" if ctx.state.notices_muted else "notices.unmuted",
            entity="conversation_state",
            entity_id=ctx.state.id,
        )
        ctx.say(
            ctx._(
                "🔕 已暂停非必要通知（提醒、摘要、机会提示）。依法须送达的通知（三书同达、审核结果、约谈通知）"
                "仍会发送。发送 /notices on 恢复。"
            )
            if ctx.state.notices_muted
            else ctx._("🔔 已恢复全部通知。")
        )


async def unknown_text(ctx: Ctx, text: str) -> None:
    """Free text where a button is expected. An unbound user typing a code is binding, not chatting."""
    if ctx.identity.role == "unbound" and looks_like_code(text):
        from bot.dialogs.binding import try_code

        await try_code(ctx, text)
        return
    raise UserError(N_("请使用消息下方的按钮操作，或发送 /menu 打开主菜单、/help 查看帮助。"))


def _subject_line(ctx: Ctx) -> str:
    ident = ctx.identity
    if ident.staff is not None:
        return ctx._(
            "当前身份：工作人员 {name}（{department}）",
            name=ident.staff.name,
            department=ident.staff.department,
        )
    s = ident.subject
    if s is None:
        return ctx._("您还没有绑定企业或驾驶员身份。请输入工作人员提供的绑定码。")
    if s.uscc:
        return ctx._("当前主体：{name}（统一社会信用代码 {uscc}）", name=s.name, uscc=s.uscc)
    return ctx._(
        "当前驾驶员：{name}（从业资格证 {cert_no}）", name=s.name, cert_no=mask_id_number(s.cert_no or "")
    )


async def show_menu(ctx: Ctx, intro: str | None = None, *, edit: bool = False) -> None:
    role = ctx.identity.role
    rows: list[list[Button]] = []
    if role == "unbound":
        rows.append([ctx.button(ctx._("🔑 输入绑定码"), "bind.start")])
        rows.append([ctx.button(ctx._("📝 没有绑定码？申请绑定"), "bind.request")])
    elif role == "enterprise":
        rows.append([ctx.button(ctx._("📋 我的信用记录"), "records.list", page=0)])
        rows.append(
            [
                ctx.button(ctx._("✍️ 信用承诺"), "commit.menu"),
                ctx.button(ctx._("📂 我的申请"), "apps.list"),
            ]
        )
    elif role == "driver":
        rows.append([ctx.button(ctx._("🚗 我的诚信考核"), "driver.assessment")])
        rows.append([ctx.button(ctx._("📂 我的申请"), "apps.list")])
    elif role == "staff":
        rows.append(
            [
                ctx.button(ctx._("📥 待办"), "staff.queue"),
                ctx.button(ctx._("🔑 签发绑定码"), "staff.issue_code"),
            ]
        )
        rows.append(
            [
                ctx.button(ctx._("🔎 信用核查"), "staff.lookup"),
                ctx.button(ctx._("📅 约谈"), "interview.list"),
            ]
        )
        manage = [ctx.button(ctx._("🔕 通知设置"), "staff.mute")]
        if any(allowed(ctx.identity.staff, a) for a in ("data.import", "subject.manage", "lists.monthly")):
            manage.append(ctx.button(ctx._("📦 数据管理"), "data.menu"))
        rows.append(manage)
        admin = (
            [ctx.button(ctx._("👥 人员管理"), "admin.staff")]
            if allowed(ctx.identity.staff, "staff.manage")
            else []
        )
        if allowed(ctx.identity.staff, "alerts.manage"):
            admin.append(ctx.button(ctx._("🤖 群机器人"), "admin.robots"))
        if admin:
            rows.append(admin)
    if role != "unbound":
        rows.append([ctx.button(ctx._("➕ 绑定其他主体"), "bind.start")])
    if ctx.identity.binding_count > 1:
        rows.append([ctx.button(ctx._("🔄 切换主体"), "bind.switch")])
    rows.append(
        [
            ctx.button(ctx._("❓ 帮助"), "menu.help"),
            # The other language, named in itself: the English catalog turns this into "🌐 中文".
            ctx.button(ctx._("🌐 English"), "menu.lang"),
        ]
    )
    text = _subject_line(ctx) + "\n" + ctx._("请选择：")
    ctx.say(f"{intro}\n\n{text}" if intro else text, rows, edit=edit)


def show_help(ctx: Ctx) -> None:
    role = ctx.identity.role
    lines = [ctx._("信用交通助手 · 帮助"), ""]
    if role == "unbound":
        lines.append(
            ctx._(
                "1. 向交通运输局工作人员索取 8 位绑定码（72 小时内有效，只能用一次）；\n"
                "2. 点击「输入绑定码」或直接发送绑定码，即可查看本企业或本人的信用信息。"
            )
        )
    elif role == "enterprise":
        lines.append(
            ctx._(
                "「我的信用记录」：查看本企业的信用记录、公示期限、何时可以申请信用修复；在记录详情里申请修复或提出异议。\n"
                "「信用承诺」：作出告知承诺、容缺受理等信用承诺，查看履行状态。\n「我的申请」：查看修复申请和异议的进度。"
            )
        )
    elif role == "driver":
        lines.append(ctx._("「我的诚信考核」：查看本考核周期的扣分、对应等级、每条违章，以及往期等级。"))
    elif role == "staff":
        lines.append(
            ctx._("「签发绑定码」：输入企业统一社会信用代码或驾驶员从业资格证号，生成一次性绑定码。")
        )
    lines += ["", ctx._("命令：")]
    lines += [f"/{name} — {desc}" for name, desc in COMMAND_MENU[ctx.lang]]
    ctx.say("\n".join(lines), [[ctx.button(ctx._("⬅️ 主菜单"), "menu.show")]])


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
        for b, label in await binding_labels(ctx.session, bindings, ctx.lang)
    ]
    ctx.say(ctx._("请选择要使用的身份："), rows, edit=True)


@registry.action("bind.use")
async def _use(ctx: Ctx, payload: dict) -> None:
    bindings = await chat_bindings(ctx.session, ctx.state.channel, ctx.state.chat_id)
    if payload["binding_id"] not in {b.id for b in bindings}:
        raise UserError(N_("该绑定已失效。"))
    ctx.state.active_binding_id = payload["binding_id"]
    ctx.identity = await resolve_identity(ctx.session, ctx.state)
    ctx.goto("menu")
    await show_menu(ctx, edit=True)
