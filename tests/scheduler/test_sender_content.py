"""Text content and the send-time re-check, through the sender and the sandbox."""

from sqlalchemy import select

from dialogs.conditions import condition_to_data, parse_condition
from handlers.dialog_adapter import script_problems
from storage.models import Event, EventKind, OutboxState, TagSource
from storage.repositories import fields, tags
from storage.segments import recheck_condition
from tests.scheduler.conftest import NOON_SHANGHAI as NOW
from tests.scheduler.conftest import World

NOT_CUSTOMER = condition_to_data(parse_condition({"not": {"tag": "customer"}}))


async def test_a_text_is_rendered_in_the_fans_language(world: World) -> None:
    fan, user_id = await world.fan(first_name="Mei", language="zh")
    async with world.database.session() as session:
        await fields.set_value(
            session, fan.id, "city", "Shanghai", category="registration", source="t", now=NOW
        )
        await session.commit()
    texts = {
        "en": "Hi {{ fan.first_name }}",
        "zh": "{{ fan.first_name }}，{{ fan.fields.city }}见",
    }
    await world.enqueue(fan, content={"text": texts})
    await world.sender.run_batch()
    [message] = await world.sandbox.wait_for_messages(user_id)
    assert message.text == "Mei，Shanghai见"
    assert await world.rows(fan) == [(OutboxState.SENT, None)]
    async with world.database.session() as session:
        out = (
            await session.execute(
                select(Event.text).where(
                    Event.fan_id == fan.id, Event.kind == EventKind.MESSAGE_OUT
                )
            )
        ).scalar_one()
    assert out == "Mei，Shanghai见"  # on the fan's timeline


async def test_a_missing_language_falls_back_to_the_brand_default(world: World) -> None:
    fan, user_id = await world.fan(first_name="Mei", language="zh")
    await world.enqueue(fan, content={"text": {"en": "Hello {{ fan.first_name }}"}})
    await world.sender.run_batch()
    [message] = await world.sandbox.wait_for_messages(user_id)
    assert message.text == "Hello Mei"


async def test_a_broken_template_is_skipped_never_sent_raw(world: World) -> None:
    broken, broken_user = await world.fan()
    missing, missing_user = await world.fan()
    before = script_problems["render_failed"]
    await world.enqueue(broken, content={"text": {"en": "Hi {{ fan.first_name "}})
    # Printing a field the fan has not answered is an error too ("Hi , ...").
    await world.enqueue(missing, content={"text": {"en": "Your city: {{ fan.fields.city }}"}})
    await world.sender.run_batch()
    assert await world.rows(broken) == [(OutboxState.SKIPPED, "render_failed")]
    assert await world.rows(missing) == [(OutboxState.SKIPPED, "render_failed")]
    assert await world.sandbox.messages(broken_user) == []
    assert await world.sandbox.messages(missing_user) == []
    assert world.sender.stats.render_failed == 2
    assert script_problems["render_failed"] == before + 2


async def test_a_condition_no_longer_true_at_send_time_skips_the_row(world: World) -> None:
    world.sender.recheck = recheck_condition
    still, still_user = await world.fan()
    bought, bought_user = await world.fan()
    for fan in (still, bought):
        await world.enqueue(fan, content={"text": {"en": "A bag for you"}}, recheck=NOT_CUSTOMER)
    async with world.database.session() as session:
        await tags.add(session, bought.id, "customer", TagSource.RULE, NOW)
        await session.commit()
    await world.sender.run_batch()
    assert await world.rows(still) == [(OutboxState.SENT, None)]
    assert await world.rows(bought) == [(OutboxState.SKIPPED, "condition_no_longer_true")]
    assert len(await world.sandbox.messages(still_user)) == 1
    assert await world.sandbox.messages(bought_user) == []


async def test_an_invalid_stored_condition_skips_with_its_own_reason(world: World) -> None:
    world.sender.recheck = recheck_condition
    fan, user_id = await world.fan()
    await world.enqueue(fan, content={"text": {"en": "Hi"}}, recheck={"colour": "blue"})
    await world.sender.run_batch()
    assert await world.rows(fan) == [(OutboxState.SKIPPED, "invalid_recheck")]
    assert await world.sandbox.messages(user_id) == []
