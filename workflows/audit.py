"""Writing the audit log. Every state change calls `log_change` inside the same transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditEntry


async def log_change(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: str = "",
    entity_id: object | None = None,
    subject_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            subject_id=subject_id,
            before=before or {},
            after=after or {},
        )
    )
