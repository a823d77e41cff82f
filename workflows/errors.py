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
