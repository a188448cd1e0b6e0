"""Coupon and bulk discount tier writes: the rules hold for the API and the admin alike.

The values' own rules are the model's (field validators, ``Coupon.clean`` for
the rules across fields, database constraints behind them); these services
apply them to every write, add the checks against other rows (a code taken in
any letter case, a tier for the same number of books) and turn a concurrent
insert of the same code or quantity into the same domain error.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookstore.audit import ADDITION, DELETION, audit_record
from orders.exceptions import CouponCodeTaken, CouponInvalid, DiscountTierInvalid, DiscountTierTaken
from orders.models import BulkDiscountTier, Coupon


class CouponFields(TypedDict, total=False):
    """The fields of a coupon that staff set (``uses`` is counted, never written)."""

    code: str
    kind: str
    value: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    min_subtotal: Decimal | None
    max_uses: int | None
    is_active: bool


class DiscountTierFields(TypedDict, total=False):
    min_quantity: int
    percent: Decimal


def _code_taken(code: str, *, coupon: Coupon | None) -> bool:
    others = Coupon.objects.filter(code__iexact=code)
    if coupon is not None and coupon.pk is not None:
        others = others.exclude(pk=coupon.pk)
    return others.exists()


def coupon_code_clean(*, code: str, coupon: Coupon | None = None) -> str:
    """``code`` as it is stored (surrounding spaces dropped).

    Raises ``CouponCodeTaken`` when a coupon other than ``coupon`` has it in
    any letter case, ``CouponInvalid`` when nothing is left of it. One query.
    """
    code = code.strip()
    if not code:
        raise CouponInvalid(details={"code": ["A coupon needs a code."]})
    if _code_taken(code, coupon=coupon):
        raise CouponCodeTaken()
    return code


def _clean(obj: Coupon | BulkDiscountTier, error: type[CouponInvalid | DiscountTierInvalid]) -> None:
    """The model's own rules: field validators and choices, then ``clean()`` across fields."""
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        details = {field: [str(message) for message in messages] for field, messages in exc.message_dict.items()}
        raise error(details=details) from exc


def _coupon_save(coupon: Coupon) -> Coupon:
    with transaction.atomic():
        coupon.code = coupon_code_clean(code=coupon.code, coupon=coupon)
        _clean(coupon, CouponInvalid)
        try:
            with transaction.atomic():
                coupon.save()
        except IntegrityError as exc:
            # Another request stored the same code between the check and this insert.
            if _code_taken(coupon.code, coupon=coupon):
                raise CouponCodeTaken() from exc
            raise
    return coupon


def coupon_create(
    *,
    code: str,
    kind: str,
    value: Decimal,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    min_subtotal: Decimal | None = None,
    max_uses: int | None = None,
    is_active: bool = True,
    by: Any = None,
) -> Coupon:
    """Create a coupon; ``code`` is stripped and must be free in every letter case.

    Raises ``CouponCodeTaken`` or ``CouponInvalid`` (a value breaks a rule:
    percent above 100, an end not after the start, ...), writing nothing.
    """
    coupon = Coupon(
        code=code,
        kind=kind,
        value=value,
        starts_at=starts_at,
        ends_at=ends_at,
        min_subtotal=min_subtotal,
        max_uses=max_uses,
        is_active=is_active,
    )
    with transaction.atomic():
        _coupon_save(coupon)
        audit_record(by=by, obj=coupon, action=ADDITION, about=("coupon", _coupon_summary(coupon)))
    return coupon


def coupon_update(*, coupon: Coupon, by: Any = None, **changes: Unpack[CouponFields]) -> Coupon:
    """Change the given fields of ``coupon``; the rules are checked on the result.

    A coupon may keep its own code in another letter case. Raises like
    ``coupon_create``, and then nothing is written. The changes are recorded
    in the coupon's admin history as made ``by`` (a user; None: the system).
    """
    before = {name: getattr(coupon, name) for name in changes}
    for name, value in changes.items():
        setattr(coupon, name, value)
    with transaction.atomic():
        _coupon_save(coupon)
        coupon.refresh_from_db(fields=list(changes))  # the values as stored (12 → 12.00)
        changed = {name: (old, getattr(coupon, name)) for name, old in before.items() if getattr(coupon, name) != old}
        audit_record(by=by, obj=coupon, changes=changed)
    return coupon


def coupon_delete(*, coupon: Coupon, by: Any = None) -> None:
    """Delete ``coupon``; one that orders use raises ``ProtectedError`` and stays (deactivate it instead)."""
    with transaction.atomic():
        audit_record(by=by, obj=coupon, action=DELETION, about=("coupon", _coupon_summary(coupon)))
        coupon.delete()


def _coupon_summary(coupon: Coupon) -> str:
    return f"{coupon.code}: {coupon.kind} {coupon.value}"


def _tier_taken(min_quantity: int, *, tier: BulkDiscountTier) -> bool:
    others = BulkDiscountTier.objects.filter(min_quantity=min_quantity)
    if tier.pk is not None:
        others = others.exclude(pk=tier.pk)
    return others.exists()


def _tier_save(tier: BulkDiscountTier) -> BulkDiscountTier:
    with transaction.atomic():
        _clean(tier, DiscountTierInvalid)
        if _tier_taken(tier.min_quantity, tier=tier):
            raise DiscountTierTaken()
        try:
            with transaction.atomic():
                tier.save()
        except IntegrityError as exc:
            if _tier_taken(tier.min_quantity, tier=tier):
                raise DiscountTierTaken() from exc
            raise
    return tier


def discount_tier_create(*, min_quantity: int, percent: Decimal) -> BulkDiscountTier:
    """Add a bulk tier: ``percent`` (0 < percent <= 100) off orders of at least ``min_quantity`` (>= 1) books.

    Raises ``DiscountTierTaken`` when a tier for that quantity exists,
    ``DiscountTierInvalid`` for a value out of range; writes nothing then.
    Orders already placed keep their prices.
    """
    return _tier_save(BulkDiscountTier(min_quantity=min_quantity, percent=percent))


def discount_tier_update(*, tier: BulkDiscountTier, **changes: Unpack[DiscountTierFields]) -> BulkDiscountTier:
    """Change the given fields of ``tier``; raises like ``discount_tier_create``."""
    for name, value in changes.items():
        setattr(tier, name, value)
    return _tier_save(tier)


def discount_tier_delete(*, tier: BulkDiscountTier) -> None:
    """Remove ``tier``; orders already placed keep their prices."""
    with transaction.atomic():
        tier.delete()
