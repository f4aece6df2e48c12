"""The active brand version, compiled once and re-checked cheaply, for the running bot.

Compiling is the caller's business (dialogs/), passed in as a function: storage only knows
which version is active and what its files are. A newly activated version is picked up
within `recheck_seconds`, without a restart.
"""

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import brand_versions

Compiled = TypeVar("Compiled")
Compile = Callable[[dict[str, str], str], Compiled]

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 2.0


class NoActiveBrandError(LookupError):
    """No brand version is active: import one with `rapport brand import DIR`."""


class BrandCache(Generic[Compiled]):
    def __init__(
        self, compile_version: Compile[Compiled], recheck_seconds: float = RECHECK_SECONDS
    ):
        self._compile = compile_version
        self._recheck_seconds = recheck_seconds
        self._version_id: int | None = None
        self._compiled: Compiled | None = None
        self._checked_at = float("-inf")

    async def current(self, session: AsyncSession) -> Compiled:
        """The compiled active version (raises NoActiveBrandError when there is none)."""
        # No asyncio lock here on purpose: the refresh waits for the database, and a task
        # holding the database's write lock may be waiting for the brand. Tasks that ask
        # at once compile a new version once all the same (see _refresh).
        if self._compiled is None or self._due():
            await self._refresh(session)
        assert self._compiled is not None
        return self._compiled

    def forget(self) -> None:
        """Re-read the active version on the next call (after an import or rollback)."""
        self._checked_at = float("-inf")

    def _due(self) -> bool:
        return time.monotonic() - self._checked_at >= self._recheck_seconds

    async def _refresh(self, session: AsyncSession) -> None:
        active_id = await brand_versions.active_id(session)
        if active_id is None:
            raise NoActiveBrandError("no brand version is active")
        if active_id != self._version_id:
            version = await brand_versions.active(session)
            assert version is not None
            if version.id == self._version_id:
                # Another task compiled it while this one read the files; compiling is
                # synchronous, so from here to the end no other task can start one.
                self._checked_at = time.monotonic()
                return
            active_id = version.id
            try:
                self._compiled = self._compile(dict(version.files), f"v{version.id}")
            except Exception:
                # Versions are checked on import, but a newer Rapport may reject an old one:
                # keep serving the version in hand rather than stop answering fans.
                logger.exception("brand version %s does not compile", active_id)
                if self._compiled is None:
                    raise
            self._version_id = active_id
        self._checked_at = time.monotonic()
