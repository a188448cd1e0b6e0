"""A URLconf for the Sentry test: the real routes plus two views that fail with personal data at hand."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bookstore.urls import handler404, handler500  # noqa: F401
from bookstore.urls import urlpatterns as real_urlpatterns


class ApiBoomView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def post(self, request: Request) -> Response:
        raise RuntimeError(f"api failure while mailing {request.data.get('email')}")


def page_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"page failure while mailing {request.GET.get('email')}")


urlpatterns = [
    path("api/v1/_probe/sentry", ApiBoomView.as_view()),
    path("_probe/sentry", page_boom),
    *real_urlpatterns,
]
