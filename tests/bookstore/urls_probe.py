"""A URLconf for envelope tests: the real routes plus views that fail on purpose."""

from django.urls import path
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.urls import handler404, handler500  # noqa: F401
from bookstore.urls import urlpatterns as real_urlpatterns


class BoomView(APIView):
    permission_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("secret internal detail: SELECT password FROM users")


class StaffOnlyView(APIView):
    permission_classes = [IsAdminUser]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response(request.data)


urlpatterns = [
    path("api/v1/_probe/boom", BoomView.as_view()),
    path("api/v1/_probe/staff", StaffOnlyView.as_view()),
    *real_urlpatterns,
]
