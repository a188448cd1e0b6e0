"""Bounded counts: exact up to a limit, PostgreSQL's planner estimate beyond it.

The one rule behind the lists' ``count`` / ``count_is_estimate`` (API.md),
shared by the paginator, a search counted in its index and the facets.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections
from django.db.models import QuerySet


def planner_estimate(queryset: QuerySet[Any]) -> int:
    """PostgreSQL's estimate of the rows of ``queryset`` (no rows are read)."""
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet[Any], limit: int) -> tuple[int, bool]:
    """The rows of ``queryset`` and whether that is an estimate.

    Exact below ``limit`` (counting stops there: ``LIMIT``; only ids are read,
    so annotations are never computed). From ``limit`` on, PostgreSQL answers
    its planner's estimate (never below the ``limit`` rows seen) and ``True``;
    other databases count exactly.
    """
    counted = queryset.order_by().values("pk")[:limit].count()
    if counted < limit:
        return counted, False
    if connections[queryset.db].vendor != "postgresql":
        return queryset.count(), False
    return max(planner_estimate(queryset), counted), True
