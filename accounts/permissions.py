"""Permission classes shared by every app's API.

Staff act through the API with the Django model permissions they hold in the
admin (``accounts.access``): reading a staff-only model needs its ``view``
permission, ``POST`` its ``add``, ``PUT``/``PATCH`` its ``change`` and
``DELETE`` its ``delete`` permission. ``is_staff`` alone grants nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.access import ADD, CHANGE, DELETE, VIEW, perm_name, staff_has_perm, staff_may
from accounts.models import ApiKey

_METHOD_ACTIONS = {
    "GET": VIEW,
    "HEAD": VIEW,
    "OPTIONS": VIEW,
    "POST": ADD,
    "PUT": CHANGE,
    "PATCH": CHANGE,
    "DELETE": DELETE,
}

_MISSING_PERMISSION = "Your account lacks the permission “{perm}” this needs."


def _view_model(view: Any) -> type[Model]:
    return view.get_queryset().model


class StaffModelPermission(BasePermission):
    """Active staff holding the view/add/change/delete permission of the view's model for the method."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        perm = perm_name(_view_model(view), _METHOD_ACTIONS.get(request.method or "", CHANGE))
        if staff_has_perm(request.user, perm):
            return True
        self.message = _MISSING_PERMISSION.format(perm=perm)
        return False


class StaffModelPermissionOrReadOnly(StaffModelPermission):
    """Anyone may read; writes need ``StaffModelPermission``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)


class StaffPermission(BasePermission):
    """Active staff holding one named permission, e.g. ``StaffPermission("orders.change_order")``."""

    def __init__(self, perm: str) -> None:
        self.perm = perm
        self.message = _MISSING_PERMISSION.format(perm=perm)

    def has_permission(self, request: Request, view: Any) -> bool:
        return staff_has_perm(request.user, self.perm)


class IsOwnerOrStaff(BasePermission):
    """Authenticated; objects only for their owner (``view.owner_field``, default ``user``) or permitted staff.

    Staff need the model's ``view`` permission to read someone else's object
    and its ``change`` permission to act on it. Views should also scope their
    queryset to what the caller may see, so that another user's object is a
    404, never a 403 (API.md).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        owner_field = getattr(view, "owner_field", "user")
        if getattr(obj, f"{owner_field}_id", None) == request.user.pk:
            return True
        return staff_may(request.user, type(obj), VIEW if request.method in SAFE_METHODS else CHANGE)


class SignedInWithJWT(BasePermission):
    """Refuses requests authenticated by an API key: a leaked key must not be able to mint its successor."""

    message = "API keys cannot create, list or revoke API keys; sign in and use a JWT (POST /api/v1/auth/token)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return not isinstance(request.auth, ApiKey)
