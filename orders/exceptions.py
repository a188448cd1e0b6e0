"""Order business-rule failures, mapped to the error envelope by bookstore.errors."""

from bookstore.exceptions import Conflict, DomainError


class InvalidOrder(DomainError):
    """The order itself is malformed; ``details`` names the line, e.g. ``items.1.book_id``."""

    status_code = 400
    code = "validation_error"
    default_message = "The order is not valid."


class InvalidCoupon(DomainError):
    status_code = 400
    code = "invalid_coupon"
    default_message = "This coupon cannot be used."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = "The order cannot move to that status from its current status."


class TransitionNotPermitted(DomainError):
    status_code = 403
    code = "permission_denied"
    default_message = "You may not change this order's status."


class InvalidIdempotencyKey(DomainError):
    status_code = 400
    code = "validation_error"
    default_message = "Idempotency-Key must be 1 to 255 printable ASCII characters."


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request body."


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed. Retry shortly."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    default_message = "Only a succeeded payment can be refunded."


class PaymentProviderUnavailable(DomainError):
    status_code = 400
    code = "validation_error"
    default_message = "This payment provider is not available."


class WebhookSignatureInvalid(DomainError):
    """The event's signature does not verify (wrong secret, altered body, or a stale timestamp)."""

    status_code = 400
    code = "invalid_signature"
    default_message = "The webhook signature could not be verified."


class DiscountInvalid(DomainError):
    """A coupon or bulk tier write refused for its values: ``400 validation_error`` naming each field.

    ``details`` maps fields to messages, as the API reports them; a subclass
    with its own ``field`` and ``default_message`` needs no arguments.
    """

    status_code = 400
    code = "validation_error"
    field = "non_field_errors"

    def __init__(self, message: str | None = None, *, details: dict[str, list[str]] | None = None) -> None:
        details = details or {self.field: [message or self.default_message]}
        field, messages = next(iter(details.items()))
        text = messages[0] if field == "non_field_errors" else f"Invalid input: {field}: {messages[0]}"
        super().__init__(text, details=details)


class CouponInvalid(DiscountInvalid):
    default_message = "The coupon is not valid."


class CouponCodeTaken(CouponInvalid):
    field = "code"
    default_message = "A coupon with this code exists (codes are case-insensitive)."


class DiscountTierInvalid(DiscountInvalid):
    default_message = "The discount tier is not valid."


class DiscountTierTaken(DiscountTierInvalid):
    field = "min_quantity"
    default_message = "A bulk discount tier for this number of books exists."
