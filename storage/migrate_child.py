"""Migrating from a short-lived child process, so the bot never loads Alembic.

Alembic and what it pulls in stay loaded once imported (about 8 MiB of the bot's
resident memory for its whole run); a child that migrates and exits costs a second at
start-up instead.
"""

import asyncio
import os
import sys


async def upgrade_in_child(database_url: str) -> None:
    """Bring the database to the latest schema in a child process; raise if it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storage.migrate",
        env={**os.environ, "RAPPORT_DATABASE_URL": database_url},
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await child.communicate()
    if child.returncode != 0:
        lines = error.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"the database migration failed (exit {child.returncode}): "
            + (lines[-1] if lines else "no output")
        )
