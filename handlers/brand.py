"""The compiled brand for handlers, or None when no version is active yet."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from storage.brand_cache import BrandCache, NoActiveBrandError

logger = logging.getLogger(__name__)


async def active_brand(
    brand_cache: BrandCache[CompiledBrand] | None, session: AsyncSession
) -> CompiledBrand | None:
    if brand_cache is None:
        return None
    try:
        return await brand_cache.current(session)
    except NoActiveBrandError:
        logger.warning("no brand version is active; run `rapport brand import DIR`")
        return None
