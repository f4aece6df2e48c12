"""The inbox: Telegram updates stored durably before they are confirmed, then handled once."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.id_lists import in_id_list
from storage.models import InboxState, InboxUpdate
from storage.repositories._upsert import insert_ignoring_conflicts

# An update whose handling failed this many times is set aside as failed.
MAX_ATTEMPTS = 3


def chat_key(payload: dict[str, Any]) -> int | None:
    """The chat (or user) whose updates must be handled in order; None if there is none.

    Works on raw JSON that may be malformed: such an update is stored and set aside later.
    """
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if kind in payload:
            return _int(_dict(_dict(payload[kind]).get("chat")).get("id"))
    for body in payload.values():
        body = _dict(body)
        for key in ("chat", "from"):
            if key in body:
                return _int(_dict(body[key]).get("id"))
    return None


async def store(session: AsyncSession, payloads: Iterable[dict[str, Any]], now: datetime) -> int:
    """Store updates; ones already stored (same update_id) are skipped. Returns how many new."""
    rows = [
        {
            "update_id": payload["update_id"],
            "payload": payload,
            "chat_id": chat_key(payload),
            "state": InboxState.PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for payload in payloads
    ]
    if not rows:
        return 0
    statement = insert_ignoring_conflicts(session, InboxUpdate).returning(InboxUpdate.update_id)
    result = await session.execute(statement, rows)
    return len(result.scalars().all())


async def pending(session: AsyncSession, limit: int) -> list[tuple[int, int | None]]:
    """(update_id, chat) of the oldest pending updates."""
    result = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.chat_id)
        .where(InboxUpdate.state == InboxState.PENDING)
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    return [(update_id, chat_id) for update_id, chat_id in result]


class Claimed(NamedTuple):
    """A claimed update: its id and its payload as Telegram sent it."""

    update_id: int
    payload: dict[str, Any]


async def claim(session: AsyncSession, update_id: int) -> Claimed | None:
    """Lock a pending update for handling in this transaction, if it is its turn."""
    claimed = await claim_many(session, [update_id])
    return claimed[0] if claimed else None


async def claim_many(session: AsyncSession, update_ids: Sequence[int]) -> list[Claimed]:
    """Lock the pending updates among `update_ids` whose turn it is, oldest first.

    The row lock (skipped when another worker holds it) makes one worker handle each; an
    earlier pending update of the same chat means it must wait, so a chat's updates are
    handled in order even with several workers. SQLite ignores FOR UPDATE: its
    BEGIN IMMEDIATE already serializes writers.

    Plain rows, not ORM objects: the handler only reads the payload, and marking the
    updates done or set aside are statements of their own (`mark_done`, `set_aside`).
    """
    result = await session.execute(_CLAIM, {"update_ids": list(update_ids)})
    return [Claimed(update_id, payload) for update_id, payload in result]


def _claim_statement() -> Select[tuple[int, dict[str, Any]]]:
    earlier = aliased(InboxUpdate)
    # One statement: the rows, less those with an earlier update of their chat pending.
    return (
        select(InboxUpdate.update_id, InboxUpdate.payload)
        .where(
            in_id_list(InboxUpdate.update_id, "update_ids"),
            InboxUpdate.state == InboxState.PENDING,
            ~exists().where(
                earlier.chat_id == InboxUpdate.chat_id,
                earlier.state == InboxState.PENDING,
                earlier.update_id < InboxUpdate.update_id,
            ),
        )
        .order_by(InboxUpdate.update_id)
        .with_for_update(skip_locked=True, of=InboxUpdate)
    )


# Built once: the processor claims on every update, and building it cost more than running it.
_CLAIM = _claim_statement()


# Built once too. The group's claimed rows are in the session, but nothing reads them
# after this: no need for SQLAlchemy to find and update each of them in Python as well.
_MARK_DONE = (
    update(InboxUpdate)
    .where(in_id_list(InboxUpdate.update_id, "update_ids"))
    .values(
        state=InboxState.DONE,
        processed_at=bindparam("now", type_=InboxUpdate.__table__.c.processed_at.type),
        attempts=InboxUpdate.attempts + 1,
    )
    .execution_options(synchronize_session=False)
)


async def mark_done(session: AsyncSession, update_ids: Sequence[int], now: datetime) -> None:
    """Handled: one UPDATE for a whole group of updates, not one row flush each."""
    if not update_ids:
        return
    await session.execute(_MARK_DONE, {"update_ids": list(update_ids), "now": now})


async def set_aside(session: AsyncSession, update_id: int, error: str, now: datetime) -> None:
    """Give up on an update that can never be handled (it is kept for inspection)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(
            state=InboxState.FAILED,
            error=error[:2000],
            attempts=InboxUpdate.attempts + 1,
            processed_at=now,
        )
        .execution_options(synchronize_session=False)
    )


async def record_failure(
    session: AsyncSession, update_id: int, error: str, now: datetime
) -> InboxState:
    """Count a failed attempt; after MAX_ATTEMPTS the update is set aside as failed."""
    row = await session.get(InboxUpdate, update_id)
    if row is None:
        return InboxState.FAILED
    row.attempts += 1
    row.error = error[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        row.state = InboxState.FAILED
        row.processed_at = now
    return InboxState(row.state)


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    result = await session.execute(
        select(InboxUpdate.state, func.count()).group_by(InboxUpdate.state)
    )
    return {str(state): int(count) for state, count in result}


async def count_pending(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count()).where(InboxUpdate.state == InboxState.PENDING)
    )
    return int(result.scalar_one())


async def prune_done(session: AsyncSession, before: datetime) -> int:
    """Forget handled updates received before `before` (kept a while to drop late repeats)."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.state == InboxState.DONE, InboxUpdate.received_at < before
        )
    )
    return max(int(getattr(result, "rowcount", 0)), 0)


async def reset_failed(session: AsyncSession) -> int:
    """Put failed updates back in the queue (after the cause was fixed)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.state == InboxState.FAILED)
        .values(state=InboxState.PENDING, attempts=0)
    )
    return max(int(getattr(result, "rowcount", 0)), 0)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
