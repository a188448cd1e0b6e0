"""Payments for orders: a provider interface (``manual``, ``stripe``), payment records, Stripe webhooks.

- ``models``: ``Payment`` (one per order), ``PaymentEvent`` (its status log) and
  ``WebhookEvent`` (every provider event, recorded by id before it acts).
- ``providers``: the interface and the ``manual`` and ``stripe`` implementations;
  only ``providers`` talks to the outside world.
- ``records``: writes on payment records, called by ``orders.services`` inside
  the order's own transaction, and the after-commit provider calls.
- ``webhooks``: verifying and handling Stripe's events; it moves orders through
  ``orders.services.order_transition`` like every other actor.
"""
