"""What the console needs from its surroundings, passed in by the run mode."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dialogs import Problem
from storage.clock import Clock, utc_now
from storage.database import Database

# Store edited brand files as a new active version: (files, author, now) -> (version id or
# None, problems). Activate a stored version: (version id, now). The run mode passes the
# brand service's functions in, so the console and the CLI publish the same way.
Publish = Callable[[Mapping[str, str], str, datetime], Awaitable[tuple[int | None, list[Problem]]]]
Activate = Callable[[int, datetime], Awaitable[None]]


async def _no_bot_username() -> str | None:
    return None


@dataclass
class ConsoleConfig:
    database: Database
    # The console's public base URL (login links and the Secure cookie flag follow it).
    base_url: str
    publish: Publish
    activate: Activate
    clock: Clock = utc_now
    # Where the console is mounted in its aiohttp application ("" or e.g. "/console").
    prefix: str = ""
    session_ttl: timedelta = timedelta(hours=12)
    # The bot's @username for campaign deep links (from getMe), None when unknown.
    bot_username: Callable[[], Awaitable[str | None]] = field(default=_no_bot_username)

    @property
    def secure_cookie(self) -> bool:
        return self.base_url.startswith("https://")
