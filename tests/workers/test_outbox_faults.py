"""Nothing is lost: an order placed while the broker is down, a worker killed mid-send.

Both end with the real SMTP server holding exactly one copy of the email.
"""

from __future__ import annotations

import time

import pytest

from notifications.models import Email
from orders.models import Order
from tests.workers.harness import RABBITMQ_URL, celery_call, eventually, place_order

pytestmark = [pytest.mark.slow]


@pytest.mark.requires_redis
def test_an_order_placed_while_the_broker_is_down_gets_its_email_exactly_once_when_it_is_back(
    make_env, workers, smtp_server, customer_and_book, redis_server
):
    user, book = customer_and_book
    # Emails become due for the sweep at once instead of after a minute.
    env = make_env(broker=redis_server.url, EMAIL_SWEEP_GRACE_SECONDS="0")
    redis_server.stop()

    placed = place_order(env, user_id=user.pk, book_id=book.pk)

    assert Order.objects.get(pk=placed["order"]).status == Order.Status.PENDING
    email = Email.objects.get(pk=placed["email"])
    assert (email.state, email.attempts) == (Email.State.QUEUED, 0)
    redis_server.start()  # the same port, empty: the task sent at commit time never arrived
    worker = workers(env)
    time.sleep(2)
    assert smtp_server.messages == []  # nothing was queued in the broker for it

    celery_call(env, "notifications.email_sweep")  # what beat runs every minute

    [message] = smtp_server.wait_for(1, timeout=60)
    assert placed["number"] in message["Subject"]
    email = eventually(lambda: Email.objects.filter(pk=email.pk, state=Email.State.SENT).first(), message="sent")
    assert email.attempts == 1
    # Another sweep (and a duplicate task) changes nothing.
    celery_call(env, "notifications.email_sweep")
    eventually(
        lambda: sum("notifications.email_sweep[" in line and "succeeded" in line for line in worker.lines) >= 2,
        message="the second sweep",
    )
    time.sleep(2)
    assert len(smtp_server.messages) == 1


def _killed_mid_send_then_delivered_once(env, workers, smtp_server, customer_and_book) -> None:
    user, book = customer_and_book
    smtp_server.handler.hold_first_mail = True  # the first delivery hangs in the SMTP conversation
    first = workers(env)

    placed = place_order(env, user_id=user.pk, book_id=book.pk)
    assert smtp_server.handler.holding.wait(timeout=60), first.log()
    email = Email.objects.get(pk=placed["email"])
    assert (email.state, email.attempts) == (Email.State.SENDING, 1)
    first.kill()  # SIGKILL: the task is neither finished nor acknowledged

    second = workers(env)  # the broker hands the unacknowledged task to the next worker

    [message] = smtp_server.wait_for(1, timeout=90)
    assert placed["number"] in message["Subject"]
    email = eventually(lambda: Email.objects.filter(pk=email.pk, state=Email.State.SENT).first(), message="sent")
    assert email.attempts == 2  # the killed attempt and the one that sent it
    # The log line follows the state change: wait for it rather than racing the worker's write.
    eventually(lambda: second.saw(f"email {email.pk} sent to the SMTP server"), timeout=30, message="log line")
    time.sleep(3)
    assert len(smtp_server.messages) == 1


@pytest.mark.requires_rabbitmq
def test_a_worker_killed_during_the_email_task_still_delivers_it_exactly_once(
    make_env, workers, smtp_server, customer_and_book, rabbitmq_queue
):
    # RabbitMQ requeues the task as soon as the dead worker's connection closes.
    env = make_env(broker=RABBITMQ_URL, queue=rabbitmq_queue, EMAIL_SEND_LEASE_SECONDS="3")
    _killed_mid_send_then_delivered_once(env, workers, smtp_server, customer_and_book)


@pytest.mark.requires_redis
def test_a_worker_killed_during_the_email_task_on_redis_still_delivers_it_exactly_once(
    make_env, workers, smtp_server, customer_and_book, redis_server
):
    # Redis gives an unacknowledged task back after the visibility timeout.
    env = make_env(broker=redis_server.url, EMAIL_SEND_LEASE_SECONDS="3", CELERY_VISIBILITY_TIMEOUT="5")
    _killed_mid_send_then_delivered_once(env, workers, smtp_server, customer_and_book)
