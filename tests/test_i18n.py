"""The chat's English is complete (issue #9): every message a dialog shows is in its module's gettext
catalog (bot/locale/en/LC_MESSAGES/<module>.po) with a translation that keeps its placeholders; no
Chinese text reaches a screen without going through the catalog. `scripts/i18n` refreshes the catalogs."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, gettext

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for p in (ROOT / "bot" / "dialogs").glob("*.py") if p.stem not in ("__init__", "registry")
) + [ROOT / "bot" / "channels" / "common.py", ROOT / "bot" / "engine.py"]
KEYWORDS = {"_": None, "N_": None}


def catalog_name(source: Path) -> str:
    """bot/dialogs/records.py → records; bot/channels/common.py → channels_common; bot/engine.py →
    bot_engine (as scripts/i18n)."""
    return source.stem if source.parent.name == "dialogs" else f"{source.parent.name}_{source.stem}"


CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
# A Chinese literal that is not shown to anyone (a keyword read from what the user typed, a value stored
# as Chinese), or one shown in both languages at once, says so on its line.
MARKERS = ("# not UI", "# both languages")


def _extracted(path: Path) -> list[tuple[int, str]]:
    return [
        (lineno, message)
        for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS)
        if isinstance(message, str)
    ]


def _catalog(name: str) -> dict[str, tuple[str, bool]]:
    path = LOCALE_DIR / "en" / "LC_MESSAGES" / f"{name}.po"
    if not path.exists():
        return {}
    with path.open("rb") as po:
        return {str(m.id): (str(m.string or ""), m.fuzzy) for m in read_po(po, locale="en") if m.id}


@pytest.mark.parametrize("source", SOURCES, ids=catalog_name)
def test_every_message_has_an_english_translation_with_its_placeholders(source: Path) -> None:
    catalog = _catalog(catalog_name(source))
    missing = []
    for lineno, message in _extracted(source):
        translation, fuzzy = catalog.get(message, ("", False))
        if not translation or fuzzy:
            missing.append(f"{source.name}:{lineno} {message!r}")
        elif set(PLACEHOLDER.findall(message)) != set(PLACEHOLDER.findall(translation)):
            missing.append(f"{source.name}:{lineno} placeholders differ: {message!r} → {translation!r}")
    assert missing == [], "run scripts/i18n and translate:\n" + "\n".join(missing)


def _calls_named(node: ast.AST, names: set[str]) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id in names)
        or (isinstance(node.func, ast.Attribute) and node.func.attr in names)
    )


@pytest.mark.parametrize("source", SOURCES, ids=catalog_name)
def test_no_chinese_reaches_a_screen_around_the_catalog(source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    tree = ast.parse(text)
    marked = {
        tok.start[0]
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type == tokenize.COMMENT and tok.string.startswith(MARKERS)
    }
    inside: set[int] = set()  # ids of string nodes that are a catalog message or a docstring
    problems = []
    for node in ast.walk(tree):
        if _calls_named(node, {"_", "N_"}):
            assert isinstance(node, ast.Call)
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                problems.append(f"{source.name}:{node.lineno} the message must be a plain string literal")
            for child in ast.walk(node.args[0]) if node.args else []:
                inside.add(id(child))
        if _calls_named(node, {"t"}) and isinstance(node.func, ast.Attribute):  # type: ignore[attr-defined]
            problems.append(f"{source.name}:{node.lineno} ctx.t(zh, en): use ctx._(zh) and the catalog")
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                inside.add(id(body[0].value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and CJK.search(node.value)
            and id(node) not in inside
            and node.lineno not in marked
        ):
            problems.append(f"{source.name}:{node.lineno} Chinese outside the catalog: {node.value[:40]!r}")
    assert problems == [], "\n".join(problems)


def test_one_chinese_text_has_one_translation_across_catalogs() -> None:
    """The catalogs are merged at run time: a message two modules translate differently would depend on
    which file is read last."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((LOCALE_DIR / "en" / "LC_MESSAGES").glob("*.po")):
        for message, (translation, _fuzzy) in _catalog(path.stem).items():
            first = seen.setdefault(message, (translation, path.stem))
            if translation and first[0] and first[0] != translation:
                clashes.append(f"{message!r}: {first[1]} {first[0]!r} ≠ {path.stem} {translation!r}")
    assert clashes == []


def test_placeholders_are_filled_in_both_languages() -> None:
    assert gettext("已录入 {no}", "zh", no="枣交罚〔2026〕1号") == "已录入 枣交罚〔2026〕1号"
    assert gettext("一句目录里没有的话", "en") == "一句目录里没有的话"  # untranslated: Chinese, never empty
