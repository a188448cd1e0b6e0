"""Accounts API: registration, JWT login/refresh/logout, the caller's profile and password, API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts import personal_data, services
from accounts.api.mixins import CreatedLocationMixin
from accounts.api.serializers import (
    AccountCloseSerializer,
    AddressSerializer,
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    ApiKeyUsageSerializer,
    LogoutSerializer,
    OidcCallbackSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    PersonalDataExportSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from accounts.models import Address, ApiKey, User
from accounts.permissions import SignedInWithJWT, StaffModelPermission
from accounts.selectors import address_list, api_key_list_for_owner, api_key_usage
from accounts.throttling import AuthRateThrottle, PasswordResetEmailThrottle

TAG = "auth"

_400 = OpenApiResponse(description="`validation_error`: `details` names the field.")
_401 = OpenApiResponse(description="`not_authenticated`.")
_403 = OpenApiResponse(
    description="`permission_denied`: staff with the API-key permission only, signed in with a JWT (not an API key)."
)
_404 = OpenApiResponse(description="`not_found`: no such key among the caller's keys.")
_429 = OpenApiResponse(description="`throttled`: too many requests from this address; see `Retry-After`.")


_403_JWT = OpenApiResponse(description="`permission_denied`: signed in with an API key; this needs a JWT.")
_409_OPEN_ORDERS = OpenApiResponse(
    description="`conflict`: orders paid or shipped and not yet delivered; `details.orders` lists their numbers."
)


class SignedInWithPassword(SignedInWithJWT):
    """A JWT (from a password or a provider sign-in), never an API key acting for its owner."""

    message = "An API key cannot close its owner's account; sign in and use a JWT (POST /api/v1/auth/token)."


def _access_token(request: Request) -> Any:
    """The validated access token the request was authenticated with, or ``None`` (e.g. an API key)."""
    return None if isinstance(request.auth, ApiKey) else request.auth


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


_404_PROVIDER = OpenApiResponse(description="`not_found`: no sign-in provider of that name is configured.")
_PROVIDER_PARAMETER = OpenApiParameter(
    "provider",
    str,
    OpenApiParameter.PATH,
    description="The provider's configured name (`OIDC_PROVIDERS`), e.g. `google`.",
    pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
)
_503_PROVIDER = OpenApiResponse(
    description="`service_unavailable`: the provider cannot be reached or answered nonsense; try again."
)


class OidcStartView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        summary="Sign in with an OpenID Connect provider: redirect to the provider",
        description=(
            "Open to anyone, rate limited per client address. `302` to the provider's authorization endpoint "
            "(authorization code flow with PKCE S256, `state` and `nonce`). The provider sends the browser back to "
            "the frontend's configured redirect URI with `code` and `state`, which the frontend posts to "
            "`/api/v1/auth/oidc/{provider}/callback` within 10 minutes."
        ),
        responses={
            302: OpenApiResponse(description="Redirect to the provider; the URL is in `Location`."),
            404: _404_PROVIDER,
            429: _429,
            503: _503_PROVIDER,
        },
        parameters=[_PROVIDER_PARAMETER],
        auth=[],
    )
    def get(self, request: Request, provider: str) -> HttpResponseRedirect:
        from accounts import oidc  # Authlib, joserfc and cryptography (~11 MiB): loaded by the first sign-in only

        url = oidc.oidc_authorization_url(provider=oidc.provider_get(provider))
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "no-store"
        return response


class OidcCallbackView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        summary="Sign in with an OpenID Connect provider: exchange the code for the store's tokens",
        description=(
            "Open to anyone, rate limited per client address. `code` and `state` are the values the provider "
            "sent back; a state works once. The code is exchanged with the provider, and its ID token checked "
            "(signature against the provider's keys, issuer, audience, expiry, nonce). The account with the "
            "provider's *verified* email signs in, or a customer account is created for it. Answers the same "
            "token pair as `/auth/token`. A bad state, refused code, invalid ID token or unverified email is "
            "`400 validation_error` naming `state` or `code`; a closed account `401`."
        ),
        request=OidcCallbackSerializer,
        responses={200: TokenPairSerializer, 400: _400, 401: _401, 404: _404_PROVIDER, 429: _429, 503: _503_PROVIDER},
        parameters=[_PROVIDER_PARAMETER],
        auth=[],
    )
    def post(self, request: Request, provider: str) -> Response:
        from accounts import oidc  # Authlib, joserfc and cryptography (~11 MiB): loaded by the first sign-in only

        serializer = OidcCallbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        config = oidc.provider_get(provider)
        identity = oidc.oidc_identity(provider=config, **serializer.validated_data)
        pair = services.token_pair_for_oidc(
            email=identity.email, first_name=identity.first_name, last_name=identity.last_name
        )
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
        services.refresh_token_revoke(user=_user(request), access=_access_token(request), **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        summary="Sign out everywhere: revoke every refresh and access token of the caller",
        description=(
            "Authenticated. Every refresh token of the caller stops working, and so does every access token issued "
            "before this call, on every server, including the one sent with it. API keys are not sessions and keep "
            "working (revoke them at `/api-keys`). Sign in again for a new pair."
        ),
        request=None,
        responses={204: None, 401: _401},
    )
    def post(self, request: Request) -> Response:
        services.user_sign_out_everywhere(user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(PublicAuthView):
    throttle_classes = [AuthRateThrottle, PasswordResetEmailThrottle]

    @extend_schema(
        tags=[TAG],
        summary="Ask for a password reset link by email",
        description=(
            "Open to anyone. Always `204`, whether or not an account has this email, and in the same time: the "
            "email with a one-time link (valid for `PASSWORD_RESET_TIMEOUT`, default 1 hour) is sent in the "
            "background, to an active account only. Rate limited per client address (with the other auth "
            "endpoints) and per email address (`429`)."
        ),
        request=PasswordResetRequestSerializer,
        responses={204: None, 400: _400, 429: _429},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetConfirmView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        summary="Set a new password with the emailed link's uid and token",
        description=(
            "Open to anyone holding a reset link, rate limited per client address. The token works once and "
            "expires; an invalid, used or expired one is `400` naming `token`, a password the rules refuse `400` "
            "naming `new_password`. On success every refresh token of the user stops working, and so do access "
            "tokens issued before."
        ),
        request=PasswordResetConfirmSerializer,
        responses={204: None, 400: _400, 429: _429},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
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

    @extend_schema(
        tags=[TAG],
        summary="Close the caller's account and erase their personal data",
        description=(
            "Signed in with a JWT (an API key is `403`), confirmed with the account's password (wrong: `400` naming "
            "`password`; rate limited like the auth endpoints). The account is closed for good: name and email are "
            "erased (the email becomes an anonymous placeholder), saved addresses deleted, every token and API key "
            "revoked, emails to it blanked. Orders stay for the accounts with their addresses anonymised; pending "
            "(unpaid) orders are cancelled first. While an order is paid or shipped and not yet delivered the "
            "account cannot be closed: `409 conflict` with `details.orders` listing them."
        ),
        request=AccountCloseSerializer,
        responses={204: None, 400: _400, 401: _401, 403: _403_JWT, 409: _409_OPEN_ORDERS, 429: _429},
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        personal_data.user_close(user=_user(request), **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_permissions(self) -> Sequence[Any]:
        if self.request.method == "DELETE":
            return [IsAuthenticated(), SignedInWithPassword()]
        return super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        # Closing the account checks a password: limited like the other ways of trying one.
        if self.request.method == "DELETE":
            return [AuthRateThrottle()]
        return super().get_throttles()


class PersonalDataExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        summary="Everything the shop holds on the caller, as JSON",
        description=(
            "Authenticated. The account, saved addresses, sessions (refresh tokens issued), API keys (never the "
            "secret), the emails sent to the caller, and every order with its lines, status history, addresses and "
            "payment (provider and status; no secrets)."
        ),
        responses={200: PersonalDataExportSerializer, 401: _401},
    )
    def get(self, request: Request) -> Response:
        data = personal_data.user_export(user=_user(request))
        filename = f"personal-data-{_user(request).pk}.json"
        return Response(data, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


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
            "stored hashed, so `key` in this response is the only copy. The key's URL is in `Location`. "
            "`scopes` (default: every scope) limit what it may do: a call outside them is `403`. `daily_quota` "
            "(default: none) limits its calls per UTC day: over it, `429` with `Retry-After` until midnight UTC. "
            "Every response to a call made with a key carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` "
            "(`unlimited` for a key without quota) and `X-RateLimit-Reset` (Unix time of the next midnight UTC)."
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

    @extend_schema(
        tags=["api-keys"],
        summary="Calls made with one of the caller's API keys, per UTC day, for the last 30 days",
        description=(
            "Staff only, the key's owner, signed in with a JWT. Today first; a day without calls is `0`. Calls "
            "refused for the quota or the scopes do not count. Today's count is live."
        ),
        responses={200: ApiKeyUsageSerializer, 401: _401, 403: _403, 404: _404},
    )
    @action(detail=True, methods=["get"])
    def usage(self, request: Request, pk: str | None = None) -> Response:
        api_key = self.get_object()
        days = [day._asdict() for day in api_key_usage(api_key=api_key)]
        return Response(
            ApiKeyUsageSerializer({"id": api_key.pk, "daily_quota": api_key.daily_quota, "days": days}).data
        )


_404_ADDRESS = OpenApiResponse(description="`not_found`: no such address among the caller's own.")


@extend_schema_view(
    list=extend_schema(
        summary="The caller's saved addresses",
        description="Authenticated. The caller's own addresses, the default first; nobody else's, not even for staff.",
    ),
    create=extend_schema(
        summary="Save an address",
        description=(
            "Authenticated. `name`, `line1`, `city` and `country` (ISO 3166-1 alpha-2) are required; the postal code "
            "must have the country's format where it is well known (`400` naming `postal_code`) and is stored in "
            "its printed form (`sw1a1aa` → `SW1A 1AA`). `is_default: true` makes it the one default address. "
            "The new address's URL is in `Location`."
        ),
    ),
    retrieve=extend_schema(
        summary="One of the caller's addresses",
        description="Authenticated. Another user's address is `404`.",
        responses={200: AddressSerializer, 404: _404_ADDRESS},
    ),
    partial_update=extend_schema(
        summary="Change a saved address",
        description=(
            "Authenticated, the owner. Send only the fields to change; the postal code is checked against the "
            "resulting country. Orders placed to this address keep their own copy and do not change."
        ),
        responses={200: AddressSerializer, 400: _400, 404: _404_ADDRESS},
    ),
    destroy=extend_schema(
        summary="Delete a saved address",
        description="Authenticated, the owner. Orders placed to this address keep their own copy.",
        responses={204: None, 404: _404_ADDRESS},
    ),
)
@extend_schema(tags=["addresses"])
class AddressViewSet(
    CreatedLocationMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Address],
):
    """The caller's saved addresses; another user's address is a 404, for staff too.

    Changes are partial only (``PATCH``); there is no ``PUT`` route.
    """

    serializer_class = AddressSerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list[type] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Address]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Address.objects.none()
        return address_list(user=_user(self.request))

    def perform_create(self, serializer: BaseSerializer[Address]) -> None:
        serializer.instance = services.address_create(user=_user(self.request), **serializer.validated_data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        address = self.get_object()
        serializer = self.get_serializer(address, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        address = services.address_update(address=address, **serializer.validated_data)
        return Response(self.get_serializer(address).data)

    def perform_destroy(self, instance: Address) -> None:
        services.address_delete(address=instance)
