"""Errors a user can cause: values with a message in Chinese (and English), never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action; `zh` is shown to the user, `en` when they chose English."""

    def __init__(self, zh: str, en: str | None = None) -> None:
        super().__init__(zh)
        self.zh = zh
        self.en = en or zh

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


class ForgedAttempt(UserError):
    """A request for something that is not the caller's (another subject's record, a staff action by a
    non-staff chat). The engine rolls the event back and then writes `audit` in its own transaction, so
    the trace survives the refusal."""

    def __init__(
        self,
        zh: str,
        en: str | None = None,
        *,
        action: str,
        entity: str = "",
        entity_id: object | None = None,
    ) -> None:
        super().__init__(zh, en)
        self.action = action
        self.entity = entity
        self.entity_id = entity_id
