"""A purchase from start to finish, over HTTP, against the production stack.

A gunicorn server with the production settings on this run's test database,
localstripe standing in for Stripe (it delivers the signed webhook to the
server itself), a real Celery worker on a Redis broker of the test's own
delivering the email outbox, and a real SMTP server (aiosmtpd) receiving the
emails. The customer registers, saves an address, quotes, places the order
and pays it with a test card; staff ship and deliver it. The customer gets the
placed, paid and shipped emails, each exactly once. The servers are the
fixtures of the payment tests (localstripe) and the worker tests (SMTP,
Redis, workers), imported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.models import User
from tests.factories import BookFactory, ShippingMethodFactory
from tests.orders.payments.conftest import SECRET_KEY, WEBHOOK_SECRET, WEBHOOK_URL, LocalStripe
from tests.orders.payments.conftest import localstripe as localstripe
from tests.reliability.harness import AppServer, wait_until
from tests.smtp import SmtpServer
from tests.workers.conftest import redis_server as redis_server
from tests.workers.conftest import smtp_server as smtp_server
from tests.workers.conftest import workers as workers
from tests.workers.harness import RedisServer, Worker, app_env, unique_queue

pytestmark = [pytest.mark.slow, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]

API = "/api/v1"
PASSWORD = "Quite-L0ng-Passphrase!"
BERLIN = {
    "name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10117",
    "region": "",
    "country": "DE",
    "phone": "",
}


@pytest.fixture
def stack(
    tmp_path: Path,
    localstripe: LocalStripe,
    smtp_server: SmtpServer,
    redis_server: RedisServer,
    workers: Callable[..., Worker],
) -> Iterator[AppServer]:
    """gunicorn and a Celery worker with the production settings, Stripe at localstripe, mail to ``smtp_server``."""
    env = app_env(
        broker=redis_server.url,
        queue=unique_queue(),
        email_url=smtp_server.url,
        var=tmp_path,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe.url,
    )
    workers(env)
    server = AppServer(env=env, log_path=tmp_path / "gunicorn.log")
    server.start()
    # localstripe sends its signed events to this server, as Stripe sends them to the shop.
    localstripe.post(
        "/_config/webhooks/bookstore",
        url=f"{server.url}{WEBHOOK_URL}",
        secret=WEBHOOK_SECRET,
        **{"events[]": ["payment_intent.succeeded", "payment_intent.payment_failed"]},
    )
    try:
        yield server
    finally:
        localstripe.post("/_config/webhooks/bookstore", url="http://127.0.0.1:9/nowhere", secret=WEBHOOK_SECRET)
        server.stop()


class Client:
    """``requests`` against the running server, with a bearer token once signed in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.headers: dict[str, str] = {}

    def sign_in(self, email: str, password: str) -> Client:
        response = self.post("/auth/token", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['access']}"}
        return self

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base}{API}{path}", headers=self.headers, timeout=30)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return requests.post(f"{self.base}{API}{path}", json=body, headers=self.headers, timeout=30)


def _text(message: EmailMessage) -> str:
    parts = [message] if not message.is_multipart() else list(message.walk())
    return "\n".join(
        str(part.get_content()) for part in parts if part.get_content_type() in ("text/plain", "text/html")
    )


def test_a_customer_buys_a_book_pays_by_card_and_staff_ship_and_deliver_it(
    stack: AppServer,
    localstripe: LocalStripe,
    smtp_server: SmtpServer,
) -> None:
    book = BookFactory(price="18.00", stock=3, title="The Dispossessed")
    parcel = ShippingMethodFactory(name="Parcel", countries=["DE", "AT"], price="4.95", free_over="50.00")
    customer = Client(stack.url)
    staff = Client(stack.url)
    # A staff account (its password hashed by the server's own hasher): an order manager in the admin.
    assert staff.post("/auth/register", {"email": "orders@example.com", "password": PASSWORD}).status_code == 201
    User.objects.filter(email="orders@example.com").update(is_staff=True, is_superuser=True)
    staff.sign_in("orders@example.com", PASSWORD)

    items = [{"book_id": book.pk, "quantity": 2}]
    delivery = {"shipping_country": "DE", "shipping_method_id": parcel.pk}
    # Before signing up, the shopper prices the basket anonymously.
    anonymous_quote = customer.post("/orders/quote", {"items": items, **delivery})
    assert anonymous_quote.status_code == 200, anonymous_quote.text

    # 1. Register and save an address.
    registered = customer.post("/auth/register", {"email": "ada@example.com", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    customer.sign_in("ada@example.com", PASSWORD)
    saved = customer.post("/users/me/addresses", BERLIN)
    assert saved.status_code == 201, saved.text

    # 2. Quote with shipping to Germany: 36.00 + 4.95.
    quote = customer.post("/orders/quote", {"items": items, **delivery})
    assert quote.status_code == 200, quote.text
    assert (quote.json()["shipping"], quote.json()["total"]) == ("4.95", "40.95")
    assert quote.json() == anonymous_quote.json()

    # 3. Place the order, to be paid by card, delivered to the saved address.
    placed = customer.post(
        "/orders",
        {
            "items": items,
            "payment_provider": "stripe",
            "shipping_address": {"address_id": saved.json()["id"]},
            "shipping_method_id": parcel.pk,
        },
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["fulfilment"], order["total"]) == ("pending", "delivery", quote.json()["total"])
    assert order["shipping_address"]["city"] == "Berlin"
    assert order["payment"]["provider"] == "stripe"
    assert order["payment"]["status"] != "error", order["payment"]
    client_secret = order["payment"]["client_secret"]
    assert client_secret
    intent_id = client_secret.split("_secret_")[0]

    # 4. What Stripe's client does in the browser: attach a test card and confirm.
    confirmed = localstripe.pay(intent_id)
    assert confirmed["status"] == "succeeded"

    # 5. localstripe delivers the signed webhook to the server: the order is paid.
    def status() -> str:
        response = customer.get(f"/orders/{order['id']}")
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    wait_until(lambda: status() == "paid", timeout=30, interval=0.2, message=f"paid\n{stack.log_tail()}")

    # 6. Staff ship it with the carrier and tracking number.
    shipped = staff.post(f"/orders/{order['id']}/ship", {"carrier": "DHL", "tracking_number": "00340434161094042557"})
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["status"], shipped.json()["carrier"], shipped.json()["tracking_number"]) == (
        "shipped",
        "DHL",
        "00340434161094042557",
    )

    # 7. Staff deliver it: the whole history is on the order.
    delivered = staff.post(f"/orders/{order['id']}/deliver")
    assert delivered.status_code == 200, delivered.text
    final = customer.get(f"/orders/{order['id']}").json()
    assert final["status"] == "delivered"
    assert [change["status"] for change in final["status_history"]] == ["pending", "paid", "shipped", "delivered"]
    assert final["total"] == order["total"]

    # The customer got the placed, paid and shipped emails, each once, naming the order and its total.
    messages = smtp_server.wait_for(3, timeout=90)
    time.sleep(3)  # a duplicate would arrive within this time
    assert len(smtp_server.messages) == 3, [message["Subject"] for message in smtp_server.messages]
    assert all(message["To"] == "ada@example.com" for message in messages)
    assert all(order["number"] in message["Subject"] for message in messages)
    assert all(order["total"] in _text(message) for message in messages)
    number = order["number"]
    subjects = sorted(message["Subject"].split(": ", 1)[1] for message in messages)
    assert subjects == sorted(
        [f"order {number} received", f"payment received for order {number}", f"order {number} has shipped"]
    )
    [shipped_email] = [message for message in messages if message["Subject"].endswith("has shipped")]
    assert "00340434161094042557" in _text(shipped_email)
