"""Accounts business-rule failures, mapped to the error envelope by bookstore.errors."""

from __future__ import annotations

from bookstore.exceptions import Conflict, DomainError


class FieldInvalid(DomainError):
    """Bad input for one field: ``400 validation_error`` with ``details[field]``."""

    status_code = 400
    code = "validation_error"
    field = "non_field_errors"

    def __init__(self, *messages: str, field: str | None = None) -> None:
        field = field or self.field
        texts = [str(message) for message in messages] or [self.default_message]
        super().__init__(f"Invalid input: {field}: {texts[0]}", details={field: texts})


class EmailAlreadyRegistered(FieldInvalid):
    field = "email"
    default_message = "A user with this email address already exists."


class PasswordRejected(FieldInvalid):
    """The new password fails Django's password validators."""

    field = "password"
    default_message = "This password is not allowed."


class CurrentPasswordIncorrect(FieldInvalid):
    field = "current_password"
    default_message = "The current password is incorrect."


class RefreshTokenRejected(FieldInvalid):
    """Logout with a refresh token that is invalid, expired, revoked or not the caller's."""

    field = "refresh"
    default_message = "Token is invalid, expired or not yours."


class ApiKeyExpiryInvalid(FieldInvalid):
    field = "expires_at"
    default_message = "The expiry must be in the future."


class ApiKeyScopesInvalid(FieldInvalid):
    field = "scopes"
    default_message = "Unknown scope."


class ApiKeyQuotaInvalid(FieldInvalid):
    field = "daily_quota"
    default_message = "The daily quota must be at least 1 call."


class ApiKeyOwnerNotAllowed(FieldInvalid):
    field = "owner"
    default_message = "API keys can only belong to active staff members."


class AuthenticationError(DomainError):
    """Credentials that do not identify an active user: ``401 not_authenticated``."""

    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication failed."


class InvalidCredentials(AuthenticationError):
    default_message = "No active account found with the given email and password."


class TokenRejected(AuthenticationError):
    default_message = "Token is invalid, expired or revoked."


class ApiKeyRejected(AuthenticationError):
    default_message = "API key is invalid, expired or revoked."


class PostalCodeRejected(FieldInvalid):
    """The postal code does not have the format of the address's country."""

    field = "postal_code"
    default_message = "Enter a valid postal code for this country."


class PasswordResetTokenInvalid(FieldInvalid):
    """A reset link that is malformed, used already, expired or for an account that is closed."""

    field = "token"
    default_message = "This password reset link is invalid or has expired; ask for a new one."


class AccountHasOpenOrders(Conflict):
    """The account cannot be erased while orders are paid but not yet delivered."""

    default_message = "The account has orders that are paid and not yet delivered; it can be closed once they arrive."


class OidcProviderUnknown(DomainError):
    """Sign-in with a provider that is not configured: ``404 not_found``."""

    status_code = 404
    code = "not_found"
    default_message = "No sign-in provider of that name."


class OidcSignInRejected(FieldInvalid):
    """A sign-in the provider or its ID token does not vouch for (bad state, code, token or unverified email)."""

    field = "code"
    default_message = "The sign-in could not be completed."


class OidcProviderUnavailable(DomainError):
    """The provider cannot be reached or answers nonsense: ``503 service_unavailable``; the client may retry."""

    status_code = 503
    code = "service_unavailable"
    default_message = "The sign-in provider is unavailable. Try again shortly."
