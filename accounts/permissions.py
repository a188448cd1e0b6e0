"""Permission classes shared by every app's API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


def is_staff(request: Request) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_staff)


class IsStaff(BasePermission):
    """Authenticated staff only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_staff(request)


class IsStaffOrReadOnly(BasePermission):
    """Anyone may read; only staff may write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or is_staff(request)


class IsOwnerOrStaff(BasePermission):
    """Authenticated; objects only for their owner (``view.owner_field``, default ``user``) or staff.

    Views should also scope their queryset to the caller, so that another
    user's object is a 404, never a 403 (API.md).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if is_staff(request):
            return True
        owner_field = getattr(view, "owner_field", "user")
        return getattr(obj, f"{owner_field}_id", None) == request.user.pk
