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
    for check in (check_database, check_brand, check_bot_api):
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
