"""Payment test fixtures: a real localstripe server, Stripe settings pointing at it, signed webhook deliveries.

localstripe is a Stripe-compatible server (an aiohttp app from PyPI); the
official ``stripe`` library talks to it over HTTP exactly as it talks to
Stripe. Webhooks are signed here with Stripe's scheme: ``Stripe-Signature:
t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.factories import BookFactory

WEBHOOK_URL = "/api/v1/payments/stripe/webhook"
SECRET_KEY = "sk_test_bookstore"
WEBHOOK_SECRET = "whsec_bookstore_test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LocalStripe:
    url: str

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}{path}", params=params, auth=(SECRET_KEY, ""), timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, **data: Any) -> Any:
        response = requests.post(f"{self.url}{path}", data=data, auth=(SECRET_KEY, ""), timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def pay(self, intent_id: str, payment_method: str = "pm_card_visa") -> Any:
        """What Stripe's client does in the customer's browser: attach a test card and confirm."""
        self.post(f"/v1/payment_intents/{intent_id}", payment_method=payment_method)
        return self.post(f"/v1/payment_intents/{intent_id}/confirm")

    def event_for(self, intent_id: str, event_type: str) -> bytes:
        """The raw JSON of the event localstripe emitted for ``intent_id`` (as Stripe would POST it)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for event in self._events(event_type):
                if event["type"] == event_type and event["data"]["object"]["id"] == intent_id:
                    return json.dumps(event).encode()
            time.sleep(0.05)
        raise AssertionError(f"localstripe emitted no {event_type} for {intent_id}")

    def _events(self, event_type: str) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"type": event_type, "limit": 100}
        while True:
            page = self.get("/v1/events", **params)
            yield from page["data"]
            if not page["has_more"] or not page["data"]:
                return
            params["starting_after"] = page["data"][-1]["id"]

    def refunds(self, intent_id: str) -> list[dict[str, Any]]:
        return list(self.get("/v1/refunds", payment_intent=intent_id)["data"])


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = LocalStripe(url=f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{server.url}/v1/customers", auth=(SECRET_KEY, ""), timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_settings(settings: Any, localstripe: LocalStripe) -> LocalStripe:
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe.url
    settings.STRIPE_WEBHOOK_TOLERANCE = 300
    return localstripe


def stripe_signature(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


@pytest.fixture
def deliver() -> Callable[..., Any]:
    """``deliver(client, payload, signature=None)`` → the webhook's response (signed correctly by default)."""

    def post(client: Any, payload: bytes, signature: str | None = None) -> Any:
        return client.post(
            WEBHOOK_URL,
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=stripe_signature(payload) if signature is None else signature,
        )

    return post


@pytest.fixture
def stripe_order(customer_client: Any, stripe_settings: LocalStripe, no_tiers: None) -> Callable[..., dict[str, Any]]:
    """``stripe_order(stock=5, quantity=1)`` → the JSON of an order placed over HTTP with Stripe payment."""

    def place(*, price: str = "12.50", stock: int = 5, quantity: int = 1, client: Any = None) -> dict[str, Any]:
        book = BookFactory(price=price, stock=stock)
        response = (client or customer_client).post(
            "/api/v1/orders",
            {"items": [{"book_id": book.pk, "quantity": quantity}], "payment_provider": "stripe"},
            format="json",
        )
        assert response.status_code == 201, response.content
        return dict(response.json())

    return place
