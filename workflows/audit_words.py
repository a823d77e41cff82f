"""The audit log in words, for the admins who read it in chat: who (a staff member's name, not
"staff:5"), did what (签发绑定码, not "binding_code.issue"). Pure: the caller passes the staff names."""

from __future__ import annotations

from collections.abc import Mapping

# What each kind of entry is about (the part of the action before the dot).
SUBJECTS: Mapping[str, tuple[str, str]] = {
    "alert_group": ("提醒群", "alert group"),
    "audit": ("审计日志", "audit log"),
    "binding": ("绑定", "binding"),
    "binding_code": ("绑定码", "binding code"),
    "binding_request": ("绑定申请", "binding request"),
    "button": ("按钮", "button"),
    "commitment": ("信用承诺", "commitment"),
    "cycle": ("考核周期", "assessment cycle"),
    "data": ("数据导入导出", "data transfer"),
    "evaluation": ("信用评价", "evaluation"),
    "follow_up": ("报送", "report"),
    "fulfilment": ("履行申报", "fulfilment declaration"),
    "interview": ("约谈", "interview"),
    "lookup": ("信用核查", "credit check"),
    "notices": ("通知设置", "notice settings"),
    "objection": ("异议", "objection"),
    "record": ("信用记录", "credit record"),
    "repair": ("信用修复申请", "repair application"),
    "risk": ("风险预警", "risk warning"),
    "robot": ("群机器人", "group robot"),
    "staff": ("工作人员", "staff"),
    "subject": ("主体", "subject"),
    "violation": ("扣分记录", "deduction"),
}
# What was done (the part after the dot).
VERBS: Mapping[str, tuple[str, str]] = {
    "accept": ("受理", "accepted"),
    "add": ("新增", "added"),
    "approve": ("通过", "approved"),
    "broken": ("被平台拒绝，已停用", "refused by its platform, stopped"),
    "cancel": ("取消", "cancelled"),
    "chat_gone": ("对话失效（已屏蔽机器人）", "chat gone (bot blocked)"),
    "confirm": ("确认", "confirmed"),
    "corrected": ("更正", "corrected"),
    "create": ("创建", "created"),
    "disable": ("停用", "disabled"),
    "edit": ("修改", "edited"),
    "expired": ("公示期满撤下", "taken down at the end of publicity"),
    "export": ("导出", "exported"),
    "forged": ("拒绝了不属于该对话的操作", "refused a forged action"),
    "fulfilled": ("登记履行", "fulfilment recorded"),
    "fulfilment": ("履行核查", "fulfilment decided"),
    "import": ("导入", "imported"),
    "import_update": ("导入更新", "updated by import"),
    "issue": ("签发", "issued"),
    "lockout": ("错误次数过多，暂停", "paused after wrong codes"),
    "make": ("作出", "made"),
    "materials_received": ("材料收齐", "materials received"),
    "mute": ("通知设置", "notice settings"),
    "muted": ("暂停非必要通知", "optional notices paused"),
    "notices_served": ("三书送达状态", "service of the three notices"),
    "proposal_rejected": ("驳回提议", "proposal sent back"),
    "propose": ("提议", "proposed"),
    "published": ("已公示", "published"),
    "rectified": ("整改验收", "rectification accepted"),
    "refused": ("拒绝越权操作", "refused: role does not allow"),
    "register": ("设置", "registered"),
    "remove": ("移除", "removed"),
    "reject": ("不予通过", "refused"),
    "repaired": ("修复", "repaired"),
    "request_more": ("要求补正", "more materials asked for"),
    "resubmit": ("补正后重新提交", "resubmitted"),
    "schedule": ("安排", "scheduled"),
    "served_in_writing": ("三书已书面送达", "three notices served in writing"),
    "submit": ("提交", "submitted"),
    "unmuted": ("恢复通知", "notices resumed"),
    "unregister": ("取消", "unregistered"),
    "upload": ("上传材料", "materials uploaded"),
    "upload_authorisation": ("上传授权委托书", "authorisation uploaded"),
    "upload_proof": ("上传履行证明", "proof uploaded"),
    "upload_supplement": ("上传补正材料", "more materials uploaded"),
    "view": ("查看", "viewed"),
    "warning": ("预警", "raised"),
    "withdraw": ("撤回", "withdrawn"),
    "withdrawn": ("撤销", "withdrawn"),
    "subject": ("核查主体", "subject checked"),
}
OTHER = ("其他操作", "other change")


def action_words(action: str, lang: str = "zh") -> str:
    """「绑定码 · 签发」 for binding_code.issue; an action nobody described yet stays readable, never raw."""
    subject, _, verb = action.partition(".")
    what, done = SUBJECTS.get(subject), VERBS.get(verb)
    i = 1 if lang == "en" else 0
    if what is None or done is None:
        return (what[i] + " · " if what else "") + OTHER[i]
    return f"{what[i]} · {done[i]}"


def actor_words(actor: str, staff_names: Mapping[int, str], lang: str = "zh") -> str:
    """A staff member by name; a chat, the command line, an import or the system by what it is."""
    kind, _, rest = actor.partition(":")
    en = lang == "en"
    if kind == "staff" and rest.isdigit():
        return staff_names.get(int(rest), "Staff" if en else "工作人员")
    return {
        "chat": ("a chat user", "对话用户"),
        "cli": ("command line", "命令行"),
        "system": ("system", "系统"),
        "demo": ("demo data", "演示数据"),
        "import": ("import", "批量导入"),
    }.get(kind, ("other", "其他"))[0 if en else 1]
