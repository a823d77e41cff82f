"""Uploaded materials: checked (type by content, size, not empty) and stored with the application."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Material
from workflows import rules
from workflows.errors import UserError

# Files are recognised by their first bytes: a renamed .exe is not a PDF.
_MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


@dataclass(frozen=True)
class Upload:
    file_name: str
    content: bytes
    declared_type: str | None = None


def sniff_type(content: bytes) -> str | None:
    for magic, mime in _MAGIC.items():
        if content.startswith(magic):
            return mime
    return None


def check_size(size: int | None) -> None:
    """Before downloading: refuse what is plainly too large."""
    if size is not None and size > rules.MATERIAL_MAX_BYTES:
        raise UserError(
            f"文件太大（{size / 1048576:.1f} MB），单个文件不能超过 {rules.MATERIAL_MAX_BYTES // 1048576} MB。",
            f"The file is too large ({size / 1048576:.1f} MB); at most {rules.MATERIAL_MAX_BYTES // 1048576} MB.",
        )


def check_upload(upload: Upload) -> str:
    """Returns the real MIME type, or raises with what is wrong."""
    if not upload.content:
        raise UserError("文件是空的，请重新上传。", "The file is empty; please upload it again.")
    check_size(len(upload.content))
    mime = sniff_type(upload.content)
    if mime is None:
        allowed = "、".join(rules.MATERIAL_TYPES.values())
        raise UserError(
            f"不支持这种文件（{upload.file_name}）。请上传 {allowed} 格式的文件（照片或扫描件均可）。",
            f"Unsupported file ({upload.file_name}). Upload a {', '.join(rules.MATERIAL_TYPES.values())} file.",
        )
    return mime


async def store(
    session: AsyncSession, *, owner_kind: str, owner_id: int, step: str, upload: Upload, replace: bool = True
) -> Material:
    """Save a checked upload; `replace` drops the step's earlier file (a redone step keeps one file)."""
    mime = check_upload(upload)
    if replace:
        await session.exec(
            delete(Material).where(
                col(Material.owner_kind) == owner_kind,
                col(Material.owner_id) == owner_id,
                col(Material.step) == step,
            )
        )
    row = Material(
        owner_kind=owner_kind,
        owner_id=owner_id,
        step=step,
        file_name=upload.file_name[:255],
        mime_type=mime,
        size=len(upload.content),
        content=upload.content,
    )
    session.add(row)
    await session.flush()
    return row


async def materials_of(session: AsyncSession, owner_kind: str, owner_id: int) -> list[Material]:
    stmt = (
        select(Material)
        .where(Material.owner_kind == owner_kind, Material.owner_id == owner_id)
        .order_by(col(Material.id))
    )
    return list((await session.exec(stmt)).all())


# Files sent before the thing they belong to exists (staff proofs before 确认登记) wait as "staged"
# under the chat's conversation state, and are attached on confirmation.
STAGED = "staged"


async def stage(session: AsyncSession, *, state_id: int, step: str, upload: Upload) -> Material:
    return await store(session, owner_kind=STAGED, owner_id=state_id, step=step, upload=upload, replace=False)


async def attach_staged(
    session: AsyncSession, ids: list[int], *, state_id: int, owner_kind: str, owner_id: int
) -> int:
    """Move this chat's staged files to their owner; ids of other chats are ignored."""
    rows = (
        await session.exec(
            select(Material).where(
                col(Material.id).in_(ids), Material.owner_kind == STAGED, Material.owner_id == state_id
            )
        )
    ).all()
    for row in rows:
        row.owner_kind, row.owner_id = owner_kind, owner_id
    return len(rows)


async def drop_staged(session: AsyncSession, state_id: int, step: str) -> None:
    await session.exec(
        delete(Material).where(
            col(Material.owner_kind) == STAGED, col(Material.owner_id) == state_id, col(Material.step) == step
        )
    )
