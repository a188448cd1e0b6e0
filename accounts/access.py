"""Who may do what as staff: Django's model permissions, checked the way the admin checks them.

The admin lets a user in only when they are active staff, and then shows each
model and action only to holders of its permission (``<app>.<action>_<model>``;
a superuser holds every permission). The API and the services ask the same
question through ``staff_has_perm``, so the "Catalog managers" and "Order
managers" groups grant the same things wherever staff act. No DRF here: the
services of every app may import it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"


def perm_name(model: type[Model], action: str) -> str:
    """``catalog.change_book`` for ``(Book, "change")``: the codename Django creates for every model."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def staff_has_perm(user: Any, perm: str) -> bool:
    """Whether ``user`` is active staff holding ``perm`` (superusers hold every permission)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and user.has_perm(perm)
    )


def staff_may(user: Any, model: type[Model], action: str) -> bool:
    """``staff_has_perm`` for ``action`` (view, add, change, delete) on ``model``."""
    return staff_has_perm(user, perm_name(model, action))
