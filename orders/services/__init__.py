"""Order writes, one module per entity; import them from here.

- ``orders``: quoting, placing, and moving orders through fulfilment.
- ``coupons``: coupons and bulk discount tiers, for the API and the admin alike.
"""

from orders.services.coupons import (
    CouponFields,
    DiscountTierFields,
    coupon_code_clean,
    coupon_create,
    coupon_delete,
    coupon_update,
    discount_tier_create,
    discount_tier_delete,
    discount_tier_update,
)
from orders.services.orders import (
    STAFF_ONLY_TARGETS,
    TRANSITIONS,
    OrderLine,
    OrderQuote,
    QuotedLine,
    order_cancel,
    order_place,
    order_quote,
    order_ship,
    order_transition,
)

__all__ = [
    "STAFF_ONLY_TARGETS",
    "TRANSITIONS",
    "CouponFields",
    "DiscountTierFields",
    "OrderLine",
    "OrderQuote",
    "QuotedLine",
    "coupon_code_clean",
    "coupon_create",
    "coupon_delete",
    "coupon_update",
    "discount_tier_create",
    "discount_tier_delete",
    "discount_tier_update",
    "order_cancel",
    "order_place",
    "order_quote",
    "order_ship",
    "order_transition",
]
