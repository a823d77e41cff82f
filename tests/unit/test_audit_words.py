"""The audit log in words (workflows/audit_words.py): the admins' audit view never shows a raw action."""

from __future__ import annotations

import re
from pathlib import Path

from workflows.audit_words import OTHER, SUBJECTS, VERBS, action_words, actor_words


def test_every_audited_action_reads_as_words() -> None:
    """Every action the code logs has words (issue #9)."""
    root = Path(__file__).resolve().parents[2]
    found = set()
    for path in [*root.joinpath("workflows").rglob("*.py"), *root.joinpath("bot").rglob("*.py")]:
        found |= set(re.findall(r'action=f?"([a-z_]+)\.([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert len(found) > 30
    for subject, verb in found:
        assert subject in SUBJECTS and verb in VERBS, f"{subject}.{verb} has no words"
        assert OTHER[0] not in action_words(f"{subject}.{verb}")
    for templated in ("repair", "objection", "fulfilment", "follow_up"):
        for verb in ("accept", "approve", "reject", "request_more", "propose", "proposal_rejected"):
            assert OTHER[0] not in action_words(f"{templated}.{verb}")


def test_actors_are_named_not_numbered() -> None:
    assert actor_words("staff:5", {5: "陈科员"}) == "陈科员"
    assert actor_words("chat:telegram:123", {}) == "对话用户" and "123" not in actor_words(
        "chat:telegram:123", {}
    )
    assert actor_words("import:12", {}, "en") == "import"
