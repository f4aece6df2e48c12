"""What `rapport run` loads before it is asked for anything (the idle-memory benchmark).

Each check runs in a fresh interpreter: this test process has imported everything already.
"""

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

from admin.app import ROUTES

ROOT = Path(__file__).resolve().parents[2]

# The modules `rapport run` has imported once the app is built and its console served.
RUN_MODULES = "import bot.app, bot.cli, bot.console, bot.runner"
POSTGRES_URL = "postgresql+asyncpg://rapport@127.0.0.1:5432/rapport"


def _loaded_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of `prefixes` loaded in a fresh interpreter by `code`."""
    check = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    output = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [name for name in output.split() if name.startswith(prefixes)]


def test_the_postgresql_dialect_is_not_loaded_on_sqlite() -> None:
    # A `postgresql_*` argument on a model made SQLAlchemy import the whole dialect
    # package to check it: 3 MiB of the idle bot on SQLite.
    assert _loaded_after(RUN_MODULES, ("sqlalchemy.dialects.postgresql", "asyncpg")) == []


def test_sqlite_is_not_loaded_on_postgresql() -> None:
    # Building the engine connects to nothing.
    code = f"{RUN_MODULES}\nfrom storage.database import Database\nDatabase({POSTGRES_URL!r})"
    assert _loaded_after(code, ("sqlite3", "aiosqlite", "sqlalchemy.dialects.sqlite")) == []


def test_the_console_pages_are_loaded_at_their_first_request() -> None:
    code = f"{RUN_MODULES}\nfrom admin import create_console_app"
    assert _loaded_after(code, ("admin.pages.", "storage.dashboard")) == []


def test_every_console_route_names_a_page_handler() -> None:
    for _method, _path, handler, _access in ROUTES:
        module, _, name = handler.__qualname__.rpartition(".")
        assert inspect.iscoroutinefunction(getattr(importlib.import_module(module), name))
