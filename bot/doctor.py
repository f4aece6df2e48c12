"""`rapport doctor`: checks that say what is wrong and how to fix it."""

from collections.abc import Callable

from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from sqlalchemy.exc import SQLAlchemyError

import dialogs
from bot.app import create_bot
from bot.settings import Settings
from storage import migrate
from storage.database import Database
from storage.repositories import brand_versions

Say = Callable[[str], None]


async def run_checks(settings: Settings, say: Say) -> int:
    """Run every check, report each; the number of problems found."""
    problems = 0
    for check in (check_database, check_brand, check_bot_api, check_staff_chat):
        problem = await check(settings, say)
        if problem:
            say(f"  FIX: {problem}")
            problems += 1
    say("all good" if problems == 0 else f"{problems} problem(s) found")
    return problems


async def check_database(settings: Settings, say: Say) -> str | None:
    database = Database(settings.database_url)
    try:
        current = await migrate.current_revision(database)
    except (SQLAlchemyError, OSError) as error:
        say(f"database: cannot connect ({type(error).__name__}: {error})")
        return "check RAPPORT_DATABASE_URL and that the database server is running"
    finally:
        await database.dispose()
    head = migrate.head_revision()
    if current != head:
        say(f"database: at revision {current}, the code expects {head}")
        return "run `rapport db upgrade` (run and demo also upgrade on start)"
    say(f"database: ok ({database.url.get_backend_name()}, revision {current})")
    return None


async def check_brand(settings: Settings, say: Say) -> str | None:
    if settings.brand_dir is not None:
        problems = dialogs.check_brand_dir(settings.brand_dir)
        if problems:
            for problem in problems[:10]:
                say(f"brand: {problem}")
            return f"fix the {len(problems)} problem(s) in RAPPORT_BRAND_DIR={settings.brand_dir}"
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            active = await brand_versions.active(session)
    except (SQLAlchemyError, OSError):
        return None  # reported by the database check
    finally:
        await database.dispose()
    if active is None and settings.brand_dir is None:
        say("brand: no version imported and RAPPORT_BRAND_DIR is not set")
        return "run `rapport brand import DIR` or set RAPPORT_BRAND_DIR (see examples/demo_brand)"
    if active is not None:
        say(f"brand: ok (version {active.id}, {active.label})")
    else:
        say(f"brand: ok ({settings.brand_dir} is imported on start)")
    return None


async def check_bot_api(settings: Settings, say: Say) -> str | None:
    if settings.bot_token is None:
        say("bot API: no token")
        return "set RAPPORT_BOT_TOKEN to the token @BotFather gave you"
    bot = create_bot(settings)
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        say(f"bot API: {settings.api_url} refused the token")
        return "RAPPORT_BOT_TOKEN is wrong or revoked; ask @BotFather for the current one"
    except (TelegramAPIError, OSError) as error:
        say(f"bot API: {settings.api_url} unreachable ({error})")
        return "check RAPPORT_API_URL and the network"
    finally:
        await bot.session.close()
    say(f"bot API: ok (@{me.username} at {settings.api_url})")
    return None


STAFF_CHAT_HOWTO = (
    "create a Telegram supergroup for your support team, turn on Topics in its settings, "
    "add this bot as an administrator allowed to manage topics and pin messages, and set "
    "RAPPORT_STAFF_CHAT_ID to the group's id (it starts with -100; see docs/support.md)"
)


async def staff_chat_id(settings: Settings) -> int | None:
    """RAPPORT_STAFF_CHAT_ID, else the active brand version's `staff_chat_id`."""
    if settings.staff_chat_id is not None:
        return settings.staff_chat_id
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            active = await brand_versions.active(session)
        if active is None:
            return None
        return dialogs.compile_brand(active.files, active.label).settings.staff_chat_id
    except (SQLAlchemyError, OSError, dialogs.InvalidBrandError):
        return None  # reported by the database and brand checks
    finally:
        await database.dispose()


async def check_staff_chat(settings: Settings, say: Say) -> str | None:
    chat_id = await staff_chat_id(settings)
    if chat_id is None:
        # Not a problem: escalations then go to the admins by direct message.
        say("staff chat: not set up; a fan who asks for a person is told so and the admins")
        say(f"  get a direct message. To set one up: {STAFF_CHAT_HOWTO}")
        return None
    if settings.bot_token is None:
        return None  # reported by the bot API check
    bot = create_bot(settings)
    try:
        chat = await bot.get_chat(chat_id)
        me = await bot.get_me()
        member = await bot.get_chat_member(chat_id, me.id)
    except (TelegramAPIError, OSError) as error:
        say(f"staff chat: {chat_id} cannot be reached ({error})")
        return (
            f"add the bot to the staff group and check RAPPORT_STAFF_CHAT_ID; {STAFF_CHAT_HOWTO}"
        )
    finally:
        await bot.session.close()
    if chat.type != "supergroup" or not chat.is_forum:
        say(f"staff chat: {chat_id} is not a supergroup with topics")
        return "turn on Topics in the staff group's settings (it becomes a forum supergroup)"
    rights = ("can_manage_topics", "can_pin_messages")
    missing = [right for right in rights if not getattr(member, right, False)]
    if member.status != "administrator" or missing:
        say(
            f"staff chat: the bot is not an admin with {', '.join(missing or rights)} in {chat_id}"
        )
        return "make the bot an administrator of the staff group allowed to manage topics and pin"
    say(f"staff chat: ok ({chat.title}, {chat_id})")
    return None
