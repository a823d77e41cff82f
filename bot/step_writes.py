"""What a dialog step leaves behind: the chat's state and its reply's button tokens, in as few statements as
the database allows. It runs on every event that answers (issue #10: a results day), so it is Core, not the
ORM's unit of work, which cost about 0.2 ms for the state's one row."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Executable,
    String,
    Table,
    Update,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    inspect,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ButtonToken, ConversationState
from models.direct import DirectStatement
from models.late_lock import VERSION_SQL

_STATE: Table = ConversationState.__table__  # type: ignore[attr-defined]
_TOKENS: Table = ButtonToken.__table__  # type: ignore[attr-defined]
_INSERT_TOKENS = insert(_TOKENS)
_DIRECT_INSERT_TOKENS = DirectStatement(_INSERT_TOKENS)
_TOKEN_KEYS = tuple(c.key for c in _TOKENS.columns)

# Stale tokens are refused by screen number at once; their rows are deleted on every 8th screen, not on
# every reply (one statement less per event; a chat keeps at most a few screens of dead tokens).
STALE_TOKEN_SWEEP = 8
# Core and built once: the ORM's bulk DELETE also looked for the rows among the session's objects (0.4 ms).
_DELETE_STALE = delete(_TOKENS).where(
    _TOKENS.c.channel == bindparam("channel"),
    _TOKENS.c.chat_id == bindparam("chat_id"),
    _TOKENS.c.screen < bindparam("screen"),
    _TOKENS.c.persistent.is_(False),
)

# Statements built once per set of the state's changed columns (a few dozen sets at most), and whether
# they check the row's version.
_UPDATES: dict[tuple[frozenset[str], bool], Update] = {}
_UPDATES_WITH_TOKENS: dict[tuple[frozenset[str], bool], Executable] = {}
_DIRECT: dict[tuple[frozenset[str], bool, bool], DirectStatement] = {}


async def write_step(
    session: AsyncSession,
    state: ConversationState,
    tokens: list[dict[str, Any]],
    *,
    version: str | None = None,
    connection: AsyncConnection | None = None,
) -> bool:
    """The step's changes to a known chat's state in one UPDATE, and its new button tokens: on PostgreSQL
    in the same statement (one round trip instead of two), elsewhere in one executemany just before it.
    A private chat's state is read outside the session (workflows/identity.py state_and_identity); a
    group's is taken out of it here, so the commit's flush leaves it alone. A new chat's row is left to the
    flush, which inserts it (the engine adds it to the session). On every few screens, the chat's stale
    tokens are deleted.

    With `version` (PostgreSQL, models/late_lock.py), nothing is written unless the row is still that
    version: False when it is not. `connection` is the session's, when the caller has it at hand (asking
    the session again costs a greenlet)."""
    connection = connection or await session.connection()
    loaded = inspect(state)
    changed = {key: loaded.dict[key] for key in loaded.committed_state} if state.id is not None else {}
    if not changed:
        if tokens:
            await connection.execute(_INSERT_TOKENS, tokens)
        return True
    if tokens and state.screen % STALE_TOKEN_SWEEP == 0:
        # Before the write: should it fail, the step is not written (outside a transaction, a step written
        # and then failing would never send its reply). Older screens only: a moved-on chat loses nothing.
        await connection.execute(
            _DELETE_STALE, {"channel": state.channel, "chat_id": state.chat_id, "screen": state.screen}
        )
    columns = frozenset(changed)
    params = {**changed, "state_id": state.id}
    if version is not None:
        # Outside any transaction, straight on the driver (models/direct.py).
        params["state_version"] = version
        if tokens:
            params["tokens"] = _as_json(tokens)
        if not await _direct(columns, versioned=True, with_tokens=bool(tokens)).execute(connection, params):
            return False
    elif connection.dialect.name == "postgresql":
        if tokens:
            await connection.execute(
                _update_with_tokens(columns, False), {**params, "tokens": _as_json(tokens)}
            )
        else:
            await connection.execute(_update(columns, False), params)
    else:
        # SQLite: below SQLAlchemy's execution layer, inside the transaction (models/direct.py).
        if tokens:
            await _DIRECT_INSERT_TOKENS.executemany(connection, tokens)
        await _direct(columns, versioned=False, with_tokens=False).execute(connection, params)
    if state in session:
        session.expunge(state)
    return True


def _direct(columns: frozenset[str], *, versioned: bool, with_tokens: bool) -> DirectStatement:
    key = (columns, versioned, with_tokens)
    direct = _DIRECT.get(key)
    if direct is None:
        stmt = _update_with_tokens(columns, versioned) if with_tokens else _update(columns, versioned)
        direct = _DIRECT[key] = DirectStatement(stmt)
    return direct


def _update(columns: frozenset[str], versioned: bool) -> Update:
    stmt = _UPDATES.get((columns, versioned))
    if stmt is None:
        stmt = update(_STATE).where(_STATE.c.id == bindparam("state_id"))
        if versioned:
            stmt = stmt.where(literal_column(VERSION_SQL) == bindparam("state_version", type_=String))
        stmt = _UPDATES[(columns, versioned)] = stmt.values({key: bindparam(key) for key in columns})
    return stmt


def _update_with_tokens(columns: frozenset[str], versioned: bool) -> Executable:
    """The UPDATE with the tokens' INSERT, in one statement. The rows come as one JSON array, made into
    rows of the table's own type by PostgreSQL: a multi-row VALUES is a new statement for SQLAlchemy at every
    execution (never cached: 1.6 ms to compile, more than the round trip it saves), and one array per
    column cost SQLAlchemy and asyncpg a type check per value; json.dumps does it all in C. Values too long
    for a column are refused, as an INSERT refuses them.

    Unversioned, the INSERT is a CTE of the UPDATE. Versioned, the UPDATE is a CTE of the INSERT, whose
    rows are only taken when the UPDATE changed the row (a CTE's statement runs whether or not it is
    used): its row count says whether the version matched."""
    stmt = _UPDATES_WITH_TOKENS.get((columns, versioned))
    if stmt is None:
        rows = select(*(column(key) for key in _TOKEN_KEYS)).select_from(
            func.json_populate_recordset(
                literal_column(f"NULL::{_TOKENS.name}"), cast(bindparam("tokens", type_=String), JSON)
            )
        )
        if versioned:
            moved = _update(columns, versioned).returning(_STATE.c.id).cte("moved_state")
            stmt = (
                insert(_TOKENS)
                .from_select(list(_TOKEN_KEYS), rows.where(exists(select(moved.c.id))))
                .add_cte(moved)
            )
        else:
            stmt = _update(columns, versioned).add_cte(
                insert(_TOKENS).from_select(list(_TOKEN_KEYS), rows).cte("new_tokens")
            )
        _UPDATES_WITH_TOKENS[(columns, versioned)] = stmt
    return stmt


def _as_json(tokens: list[dict[str, Any]]) -> str:
    return json.dumps(tokens, ensure_ascii=False, separators=(",", ":"), default=_iso)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")
