"""What a dialog step leaves behind: the chat's state and its reply's button tokens, in as few statements as
the database allows. It runs on every event that answers (issue #10: a results day), so it is Core, not the
ORM's unit of work, which cost about 0.2 ms for the state's one row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Table, Update, bindparam, func, insert, inspect, literal_column, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ButtonToken, ConversationState

_STATE: Table = ConversationState.__table__  # type: ignore[attr-defined]
_TOKENS: Table = ButtonToken.__table__  # type: ignore[attr-defined]
_INSERT_TOKENS = insert(_TOKENS)
_TOKEN_KEYS = tuple(c.key for c in _TOKENS.columns)

# Statements built once per set of the state's changed columns (a few dozen sets at most).
_UPDATES: dict[frozenset[str], Update] = {}
_UPDATES_WITH_TOKENS: dict[frozenset[str], Update] = {}


async def write_step(session: AsyncSession, state: ConversationState, tokens: list[dict[str, Any]]) -> None:
    """The step's changes to a known chat's state in one UPDATE, and its new button tokens: on PostgreSQL
    in the same statement (the INSERT in a CTE: one round trip instead of two), elsewhere in one
    executemany just before it. A private chat's state is read outside the session (workflows/identity.py
    state_and_identity); a group's is taken out of it here, so the commit's flush leaves it alone. A new
    chat's row is left to the flush, which inserts it (the engine adds it to the session)."""
    connection = await session.connection()
    loaded = inspect(state)
    changed = {key: loaded.dict[key] for key in loaded.committed_state} if state.id is not None else {}
    if not changed:
        if tokens:
            await connection.execute(_INSERT_TOKENS, tokens)
        return
    columns = frozenset(changed)
    params = {**changed, "state_id": state.id}
    if tokens and connection.dialect.name == "postgresql":
        await connection.execute(_update_with_tokens(columns), {**params, **_arrays(tokens)})
    else:
        if tokens:
            await connection.execute(_INSERT_TOKENS, tokens)
        await connection.execute(_update(columns), params)
    if state in session:
        session.expunge(state)


def _update(columns: frozenset[str]) -> Update:
    stmt = _UPDATES.get(columns)
    if stmt is None:
        stmt = _UPDATES[columns] = (
            update(_STATE)
            .where(_STATE.c.id == bindparam("state_id"))
            .values({key: bindparam(key) for key in columns})
        )
    return stmt


def _update_with_tokens(columns: frozenset[str]) -> Update:
    """The UPDATE with the tokens' INSERT in a CTE. The rows come as one array per column, unnested: a
    multi-row VALUES is a new statement for SQLAlchemy at every execution (never cached: 1.6 ms to
    compile, more than the round trip it saves), while this one is compiled once per set of columns."""
    stmt = _UPDATES_WITH_TOKENS.get(columns)
    if stmt is None:
        arrays = [
            bindparam(f"tokens_{key}", type_=ARRAY(_unsized(_TOKENS.c[key].type))) for key in _TOKEN_KEYS
        ]
        rows = select(literal_column("*")).select_from(func.unnest(*arrays))
        stmt = _UPDATES_WITH_TOKENS[columns] = _update(columns).add_cte(
            insert(_TOKENS).from_select(list(_TOKEN_KEYS), rows).cte("new_tokens")
        )
    return stmt


def _unsized(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """A string column's type without its length: a cast to VARCHAR(16)[] would cut a longer value short
    where the INSERT must refuse it."""
    impl = getattr(type_, "impl", type_)  # SQLModel's AutoString decorates a String
    return String() if isinstance(impl, String) else type_


def _arrays(tokens: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {f"tokens_{key}": [token[key] for token in tokens] for key in _TOKEN_KEYS}
