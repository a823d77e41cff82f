"""What a user sees never holds internal names (issue #9): snake_case identifiers, `None`, `#<id>` record
ids, English field or status names in Chinese text, or a Python repr. Every reply a test chat receives and
every notice rendered for one is passed through `problems()`."""

from __future__ import annotations

import re

# An internal identifier: lowercase words joined by underscores (decision_no, upload_proof, credit_record).
_SNAKE = re.compile(r"(?<![A-Za-z0-9/@._-])[a-z]+(?:_[a-z0-9]+)+(?![A-Za-z0-9_.@/-])")
_NONE = re.compile(r"(?<![A-Za-z])None(?![A-Za-z])")
_HASH_ID = re.compile(r"(?<![A-Za-z0-9&])#\d+")
_DRAFT_REF = re.compile(r"\bDRAFT-\d+")
_REPR = re.compile(r"<[A-Za-z_.]+ object at 0x|\{'[a-z_]+':|\[\('")
# Status and enum values as stored: fine in English prose, a leak in Chinese text.
_ENUM_WORDS = re.compile(
    r"(?<![A-Za-z])(pending|approved|rejected|submitted|accepted|needs_more|draft|withdrawn|general|minor|"
    r"serious|penalty|evaluation|handler|reviewer|supervisor|admin|propose|approve|reject)(?![A-Za-z])"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def problems(text: str) -> list[str]:
    """The leaks in one screen or notice; empty when it is clean."""
    found = []
    for pattern, what in (
        (_SNAKE, "internal name"),
        (_NONE, "None"),
        (_HASH_ID, "record id"),
        (_DRAFT_REF, "draft reference"),
        (_REPR, "Python value"),
    ):
        found += [f"{what}: {m.group(0)!r}" for m in pattern.finditer(text)]
    if len(_CJK.findall(text)) > len(re.findall(r"[A-Za-z]", text)):  # Chinese text: English values leak
        found += [f"stored value: {m.group(0)!r}" for m in _ENUM_WORDS.finditer(text)]
    return found
