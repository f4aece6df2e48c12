"""The fan's control over proactive messages: /stop and the one-tap way back."""

import json
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import handoff, texts
from handlers.filters import OnLoop
from handlers.replies import Replies, Reply
from handlers.staff_desk import StaffDesk
from storage import lifecycle, privacy
from storage.models import Fan


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(on_stop, Command("stop"))
    router.callback_query.register(on_resume, OnLoop(F.data == texts.RESUME_CALLBACK))
    router.message.register(on_mydata, Command("mydata"))
    router.message.register(on_forget, Command("forget"))
    router.callback_query.register(on_forget_answer, OnLoop(F.data.in_(FORGET_ANSWERS)))
    return router


FORGET_ANSWERS = (texts.FORGET_YES_CALLBACK, texts.FORGET_NO_CALLBACK)


async def on_stop(
    message: Message, fan: Fan | None, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    if fan is None:
        return
    changed = await lifecycle.opt_out(session, fan, now, via="/stop")
    language = texts.pick_language(fan.language, fan.telegram_language)
    button = [[(texts.text("resume_button", language), texts.RESUME_CALLBACK)]]
    key = "stopped" if changed else "already_stopped"
    await replies.add(
        session, Reply(fan.id, message.chat.id, texts.text(key, language), button), now
    )


async def on_resume(
    query: CallbackQuery,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    if fan is None:
        return
    await lifecycle.opt_in(session, fan, now)
    language = texts.pick_language(fan.language, fan.telegram_language)
    chat_id = fan.chat_id or query.from_user.id
    await replies.add(session, Reply(fan.id, chat_id, texts.text("resumed", language)), now)
    replies.answer_callback(query.id)


async def on_mydata(
    message: Message, fan: Fan | None, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    if fan is None:
        return
    data = await privacy.export_fan(session, fan)
    language = texts.pick_language(fan.language, fan.telegram_language)
    fields = ", ".join(f"{f['name']}: {f['category']}" for f in data["profile"]) or "-"
    summary = texts.text(
        "mydata",
        language,
        fields=fields,
        tags=str(len(data["tags"])),
        origins=str(len(data["origins"])),
        events=str(len(data["events"])),
    )
    document = ("my-data.json", json.dumps(data, ensure_ascii=False, indent=2).encode())
    await replies.add(session, Reply(fan.id, message.chat.id, summary, document=document), now)


async def on_forget(
    message: Message, fan: Fan | None, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    if fan is None:
        return
    language = texts.pick_language(fan.language, fan.telegram_language)
    buttons = [
        [(texts.text("forget_yes", language), texts.FORGET_YES_CALLBACK)],
        [(texts.text("forget_no", language), texts.FORGET_NO_CALLBACK)],
    ]
    text = texts.text("forget_confirm", language)
    await replies.add(session, Reply(fan.id, message.chat.id, text, buttons), now)


async def on_forget_answer(
    query: CallbackQuery,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    staff_desk: StaffDesk | None = None,
) -> None:
    replies.answer_callback(query.id)
    if fan is None:
        return
    language = texts.pick_language(fan.language, fan.telegram_language)
    chat_id = fan.chat_id or query.from_user.id
    if query.data != texts.FORGET_YES_CALLBACK:
        await replies.add(
            session, Reply(fan.id, chat_id, texts.text("forget_kept", language)), now
        )
        return
    if staff_desk is not None:
        await handoff.fan_forgotten(session, staff_desk, fan, replies, now)
    await privacy.forget_fan(session, fan, now)
    goodbye = Reply(fan.id, chat_id, texts.text("forgotten", language))
    await replies.add(session, goodbye, now, on_timeline=False)
