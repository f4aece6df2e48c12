"""`in_id_list`: a list of ids bound as one value, on both databases, one statement text
whatever the number of ids."""

from typing import Any

from sqlalchemy import event, select

from storage.database import Database
from storage.id_lists import in_id_list, in_ids
from storage.models import Fan
from tests.factories import make_fan

_BY_IDS = select(Fan.id).where(in_id_list(Fan.id, "ids")).order_by(Fan.id)


async def test_the_ids_asked_for_and_one_statement_text_for_any_number(
    database: Database,
) -> None:
    texts: set[str] = set()

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM fans" in statement:
            texts.add(statement)

    async with database.session() as session:
        ids = [(await make_fan(session)).id for _ in range(4)]
        await session.commit()
        event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
        try:
            for asked in ([], ids[:1], ids[1:3], [*ids, 10**12]):
                found = list((await session.execute(_BY_IDS, {"ids": asked})).scalars())
                assert found == sorted(set(asked) & set(ids))
            built = select(Fan.id).where(in_ids(Fan.id, ids[2:])).order_by(Fan.id)
            assert list((await session.execute(built)).scalars()) == ids[2:]
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert len(texts) == 1, texts
