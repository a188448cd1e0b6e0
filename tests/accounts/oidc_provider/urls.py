"""The provider's standard endpoints under /o/, and the test-only helpers."""

from __future__ import annotations

import json

from django.contrib.auth import authenticate, get_user_model, login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from tests.accounts.oidc_provider import validators


@csrf_exempt
def login_view(request: HttpRequest) -> HttpResponse:
    """POST username and password (form-encoded): a browser session, as a login page would start."""
    if request.method != "POST":
        return HttpResponse("POST username and password.", status=405)
    user = authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
    if user is None:
        return HttpResponse(status=401)
    login(request, user)
    return HttpResponse(status=204)


@csrf_exempt
def users_view(request: HttpRequest) -> HttpResponse:
    """POST {username, password, email, first_name, last_name, email_verified}: a user of the provider."""
    data = json.loads(request.body)
    user = get_user_model().objects.create_user(
        username=data["username"],
        password=data["password"],
        email=data["email"],
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
    )
    if not data.get("email_verified", True):
        validators.UNVERIFIED.add(user.username)
    return JsonResponse({"id": user.pk}, status=201)


@csrf_exempt
def mode_view(request: HttpRequest) -> HttpResponse:
    """POST {"fault": "..."}: how the next ID tokens are made (see validators.MODE)."""
    validators.MODE["fault"] = json.loads(request.body).get("fault", "")
    return JsonResponse(validators.MODE)


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("login", login_view),
    path("test/users", users_view),
    path("test/mode", mode_view),
]
