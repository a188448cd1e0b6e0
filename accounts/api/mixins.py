"""View behaviour shared by every app's API (like accounts.permissions, at the bottom of the app graph)."""

from __future__ import annotations

from typing import Any, cast

from rest_framework.viewsets import ViewSetMixin


class CreatedLocationMixin:
    """A viewset's ``201 Created`` carries ``Location``: the new resource's detail URL (API.md, General additions).

    DRF's ``CreateModelMixin`` asks ``get_success_headers``; views with their
    own ``create`` pass ``headers=self.get_success_headers(data)`` likewise.
    """

    def get_success_headers(self, data: Any) -> dict[str, str]:
        return {"Location": cast(ViewSetMixin, self).reverse_action("detail", args=[data["id"]])}
