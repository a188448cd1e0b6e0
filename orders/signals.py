"""Cache invalidation for order pricing (no business rules here)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from orders.models import BulkDiscountTier
from orders.services.orders import TIERS_CACHE_KEY, TIERS_CACHE_SECONDS

logger = logging.getLogger(__name__)


def _forget_tiers() -> None:
    try:
        cache.delete(TIERS_CACHE_KEY)
    except Exception:
        logger.warning("discount tiers: cache unavailable, the cached tiers expire within %ss", TIERS_CACHE_SECONDS)


@receiver(post_save, sender=BulkDiscountTier, dispatch_uid="orders-tiers-saved")
@receiver(post_delete, sender=BulkDiscountTier, dispatch_uid="orders-tiers-deleted")
def tiers_changed(**kwargs: Any) -> None:
    """Forget the cached tiers now and again after the commit.

    Now, so this transaction's own placements see the change; after the
    commit, because another request may have cached the old tiers meanwhile.
    """
    _forget_tiers()
    transaction.on_commit(_forget_tiers, robust=True)
