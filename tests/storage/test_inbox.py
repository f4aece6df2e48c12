"""The inbox: duplicates dropped, one chat's updates handled in order, failures counted."""

from sqlalchemy import select

from storage.database import Database
from storage.models import InboxState, InboxUpdate
from storage.repositories import inbox
from tests.factories import NOW, make_message_update


async def test_store_skips_an_update_delivered_twice(database: Database) -> None:
    update = make_message_update(1, user_id=7)
    async with database.session() as session:
        assert await inbox.store(session, [update], NOW) == 1
        await session.commit()
    async with database.session() as session:
        assert await inbox.store(session, [update, make_message_update(2, 7)], NOW) == 1
        await session.commit()
        assert await inbox.pending(session, 10) == [(1, 7), (2, 7)]


async def test_a_later_update_of_the_same_chat_waits_for_the_earlier(database: Database) -> None:
    async with database.session() as session:
        updates = [make_message_update(1, 7), make_message_update(2, 7), make_message_update(3, 8)]
        await inbox.store(session, updates, NOW)
        await session.commit()
    async with database.session() as session:
        assert await inbox.claim(session, 2) is None  # update 1 of chat 7 is still pending
        assert await inbox.claim(session, 3) is not None  # another chat goes ahead
        first = await inbox.claim(session, 1)
        assert first is not None
        await inbox.mark_done(session, [first.update_id], NOW)
        await session.commit()
    async with database.session() as session:
        assert await inbox.claim(session, 2) is not None
        assert await inbox.claim(session, 1) is None  # done: never handled twice


async def test_a_group_marked_done_records_when_and_counts_the_attempt(
    database: Database,
) -> None:
    async with database.session() as session:
        await inbox.store(session, [make_message_update(n, 10 + n) for n in (1, 2, 3)], NOW)
        await session.commit()
    async with database.session() as session:
        claimed = await inbox.claim_many(session, [1, 2])
        await inbox.mark_done(session, [row.update_id for row in claimed], NOW)
        await session.commit()
    async with database.read_session() as session:
        rows = {row.update_id: row for row in (await session.scalars(select(InboxUpdate)))}
    assert {n: (rows[n].state, rows[n].processed_at, rows[n].attempts) for n in rows} == {
        1: (InboxState.DONE, NOW, 1),
        2: (InboxState.DONE, NOW, 1),
        3: (InboxState.PENDING, None, 0),
    }


async def test_repeated_failures_set_an_update_aside(database: Database) -> None:
    async with database.session() as session:
        await inbox.store(session, [make_message_update(5, 9)], NOW)
        await session.commit()
    states = []
    for _ in range(inbox.MAX_ATTEMPTS):
        async with database.session() as session:
            states.append(await inbox.record_failure(session, 5, "boom", NOW))
            await session.commit()
    assert states[-1] == InboxState.FAILED
    assert states[:-1] == [InboxState.PENDING] * (inbox.MAX_ATTEMPTS - 1)
    async with database.session() as session:
        assert await inbox.count_by_state(session) == {"failed": 1}
        assert await inbox.reset_failed(session) == 1
        await session.commit()
        assert await inbox.count_pending(session) == 1


def test_chat_key_of_each_update_kind() -> None:
    user = {"id": 5, "is_bot": False, "first_name": "A"}
    assert inbox.chat_key(make_message_update(1, 42)) == 42
    callback = {"update_id": 2, "callback_query": {"id": "x", "from": user, "chat_instance": "c"}}
    assert inbox.chat_key(callback) == 5
    member = {"update_id": 3, "my_chat_member": {"chat": {"id": 6, "type": "private"}}}
    assert inbox.chat_key(member) == 6
    assert inbox.chat_key({"update_id": 4, "message": "garbage"}) is None
    assert inbox.chat_key({"update_id": 5}) is None


def test_chat_key_survives_malformed_payloads() -> None:
    for payload in (
        {"update_id": 1, "message": {"chat": "x"}},
        {"update_id": 1, "message": ["x"]},
        {"update_id": 1, "callback_query": {"from": None}},
        {"update_id": 1, "poll": 5},
    ):
        assert inbox.chat_key(payload) is None
