"""Accounts API: registration, JWT login/refresh/logout, the caller's profile and password, API keys."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from accounts import services
from accounts.api.mixins import CreatedLocationMixin
from accounts.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from accounts.models import ApiKey, User
from accounts.permissions import SignedInWithJWT, StaffModelPermission
from accounts.selectors import api_key_list_for_owner
from accounts.throttling import AuthRateThrottle

TAG = "auth"

_400 = OpenApiResponse(description="`validation_error`: `details` names the field.")
_401 = OpenApiResponse(description="`not_authenticated`.")
_403 = OpenApiResponse(
    description="`permission_denied`: staff with the API-key permission only, signed in with a JWT (not an API key)."
)
_404 = OpenApiResponse(description="`not_found`: no such key among the caller's keys.")
_429 = OpenApiResponse(description="`throttled`: too many requests from this address; see `Retry-After`.")


def _user(request: Request) -> User:
    # IsAuthenticated / StaffModelPermission guarantee a real user on every view that calls this.
    return cast(User, request.user)


class PublicAuthView(APIView):
    """Open to anyone, rate limited per client address; a stale token in the request is ignored."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"


class RegisterView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        summary="Register a customer account",
        description=(
            "Open to anyone, rate limited per client address. The email is unique ignoring case and stored "
            "lower-cased; the password must pass the password rules (`400` with `details.password`). The new "
            "account is a customer; `Location` is `/api/v1/users/me`, where it reads itself once signed in."
        ),
        request=RegisterSerializer,
        responses={201: UserSerializer, 400: _400, 429: _429},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        # The new account lives at /users/me, for whoever signs in as it.
        location = reverse("user-me", request=request)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED, headers={"Location": location})


class TokenObtainView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        summary="Log in: email and password for an access and a refresh token",
        description=(
            "Open to anyone, rate limited per client address. Wrong credentials and inactive accounts are both "
            "`401`. Send the access token as `Authorization: Bearer <access>`; renew it with the refresh token."
        ),
        request=TokenObtainSerializer,
        responses={200: TokenPairSerializer, 400: _400, 401: _401, 429: _429},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_pair_obtain(**serializer.validated_data, request=request._request)
        return Response(TokenPairSerializer(pair._asdict()).data)


class TokenRefreshView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        summary="Exchange a refresh token for a new pair (the old refresh token is revoked)",
        description=(
            "Open to anyone holding a refresh token, rate limited per client address. Refresh tokens rotate: the "
            "one sent stops working, and sending it again is `401`."
        ),
        request=TokenRefreshSerializer,
        responses={200: TokenPairSerializer, 400: _400, 401: _401, 429: _429},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_pair_refresh(**serializer.validated_data)
        return Response(TokenPairSerializer(pair._asdict()).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        summary="Log out: revoke one of the caller's refresh tokens",
        description="Authenticated. The refresh token sent, which must be the caller's, stops working at once.",
        request=LogoutSerializer,
        responses={204: None, 400: _400, 401: _401},
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.refresh_token_revoke(user=_user(request), **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        summary="The caller's account",
        description="Authenticated. The account the credentials belong to; `is_staff` tells staff from customers.",
        responses={200: UserSerializer, 401: _401},
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(_user(request)).data)

    @extend_schema(
        tags=[TAG],
        summary="Change the caller's name",
        description=(
            "Only `first_name` and `last_name` can be changed here; send either or both. Any other field is a "
            "`400 validation_error` naming it, and nothing changes: the user's read-only fields (`email`, "
            "`is_staff`, `id`, `date_joined`) and `password` with a message saying how they can be changed, if "
            "they can (the email address: by the shop; staff status: by a staff administrator in the admin; the "
            "password: `POST /api/v1/users/me/password`), any other name as an unknown field."
        ),
        request=UserUpdateSerializer,
        responses={200: UserSerializer, 400: _400, 401: _401},
    )
    def patch(self, request: Request) -> Response:
        serializer = UserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=_user(request), **serializer.validated_data)
        return Response(UserSerializer(user).data)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        tags=[TAG],
        summary="Change the caller's password; signs them out everywhere",
        description="Every refresh token of the user stops working, and so do access tokens issued before.",
        request=PasswordChangeSerializer,
        responses={204: None, 400: _400, 401: _401, 429: _429},
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_change(user=_user(request), **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        tags=["api-keys"],
        summary="The caller's API keys (without the secret)",
        description="Staff only. The caller's own keys, revoked ones excluded; the secret is never shown again.",
        responses={200: ApiKeySerializer(many=True), 401: _401, 403: _403},
    ),
    retrieve=extend_schema(
        tags=["api-keys"],
        summary="One of the caller's API keys",
        description="Staff only. Another member's key is `404`.",
        responses={200: ApiKeySerializer, 401: _401, 403: _403, 404: _404},
    ),
)
class ApiKeyViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ApiKey]
):
    """API keys of the calling staff member; another member's key is a 404.

    Needs a JWT (never an API key) and the API-key permissions the admin asks for.
    """

    serializer_class = ApiKeySerializer
    permission_classes = [SignedInWithJWT, StaffModelPermission]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[ApiKey]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return ApiKey.objects.none()
        return api_key_list_for_owner(owner=_user(self.request))

    @extend_schema(
        tags=["api-keys"],
        summary="Create an API key; the response is the only time the key is shown",
        description=(
            "Staff only. The key acts as the caller, until `expires_at` (optional) or until it is revoked; it is "
            "stored hashed, so `key` in this response is the only copy. The key's URL is in `Location`."
        ),
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer, 400: _400, 401: _401, 403: _403},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.api_key_create(owner=_user(request), **serializer.validated_data)
        data = ApiKeyCreatedSerializer(created.api_key, context={"key": created.key}).data
        return Response(data, status=status.HTTP_201_CREATED, headers=self.get_success_headers(data))

    @extend_schema(
        tags=["api-keys"],
        summary="Revoke an API key at once",
        description="Staff only, the key's owner. The key stops working with the next request.",
        responses={204: None, 401: _401, 403: _403, 404: _404},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.api_key_revoke(api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
