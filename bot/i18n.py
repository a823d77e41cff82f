"""The chat's words in English: gettext catalogs, one per dialog module, in bot/locale/en/LC_MESSAGES/.

Chinese comes first: the msgid is the Chinese text as the code writes it, with named placeholders
(`ctx._("已录入 {no}", no=record.decision_no)`); the English catalog gives the msgstr. `scripts/i18n`
extracts, updates and compiles the catalogs with Babel; tests/test_i18n.py fails on a message that has no
translation. Notice templates have their own English files (notifications/templates/*.en.j2).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from workflows.errors import UserError

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANG = "zh"


def N_(text: str) -> str:
    """Marks a constant for extraction; it is translated where it is shown (`ctx._(LABELS[k])`)."""
    return text


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid → translation for `lang`, from every module's catalog (untranslated and fuzzy ones left out)."""
    out: dict[str, str] = {}
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as po:
            for message in read_po(po, locale=lang):
                if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                    out[message.id] = str(message.string)
    return out


def translate(text: str, lang: str) -> str:
    """The text in `lang`; Chinese (the source) and anything not in the catalog stay as written."""
    if lang == SOURCE_LANG:
        return text
    return catalog(lang).get(text, text)


def gettext(text: str, lang: str, /, **values: object) -> str:
    """Translate, then fill the named placeholders."""
    translated = translate(text, lang)
    return translated.format(**values) if values else translated


def error_text(err: UserError, lang: str) -> str:
    """A refusal in the chat's language: a message raised by the dialogs is a catalog msgid
    (`UserError(N_("…"))`); one raised by workflows/ carries its own English."""
    if lang != SOURCE_LANG and err.zh in catalog(lang):
        return catalog(lang)[err.zh]
    return err.text(lang)
