"""A real worker runs a real task end to end on each production broker (and the embedded one)."""

from __future__ import annotations

import pytest

from notifications.models import Email
from tests.smtp import parts
from tests.workers.harness import RABBITMQ_URL, eventually, place_order

pytestmark = [pytest.mark.slow]


def _order_email_arrives(make_env, workers, smtp_server, customer_and_book, *, broker: str, queue: str) -> None:
    user, book = customer_and_book
    env = make_env(broker=broker, queue=queue)
    worker = workers(env)
    placed = place_order(env, user_id=user.pk, book_id=book.pk)
    [message] = smtp_server.wait_for(1, timeout=60)
    email = eventually(lambda: Email.objects.filter(pk=placed["email"], state=Email.State.SENT).first(), message="sent")
    # The worker logs the line after its UPDATE commits; its output reaches the test through a pipe.
    assert eventually(lambda: worker.saw(f"email {email.pk} sent to the SMTP server"), timeout=10, message="log line")
    assert email.attempts == 1
    assert message["To"] == "reader@example.com"
    assert placed["number"] in message["Subject"]
    text, html = parts(message)
    assert "The Left Hand of Darkness" in text
    assert "The Left Hand of Darkness" in html
    assert len(smtp_server.messages) == 1


@pytest.mark.requires_redis
def test_a_worker_on_redis_delivers_the_order_email(make_env, workers, smtp_server, customer_and_book, redis_server):
    _order_email_arrives(
        make_env, workers, smtp_server, customer_and_book, broker=redis_server.url, queue="bookstore-test"
    )


@pytest.mark.requires_rabbitmq
def test_a_worker_on_rabbitmq_delivers_the_order_email(
    make_env, workers, smtp_server, customer_and_book, rabbitmq_queue
):
    _order_email_arrives(make_env, workers, smtp_server, customer_and_book, broker=RABBITMQ_URL, queue=rabbitmq_queue)


def test_a_worker_on_the_embedded_filesystem_broker_delivers_the_order_email(
    make_env, workers, smtp_server, customer_and_book
):
    _order_email_arrives(
        make_env, workers, smtp_server, customer_and_book, broker="filesystem://localhost//", queue="celery"
    )
