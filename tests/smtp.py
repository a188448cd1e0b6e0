"""A real SMTP server for the email tests: aiosmtpd on a free loopback port, in a thread."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingHandler:
    """Keeps every message the server accepted; can hold the first sender at MAIL FROM until released."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.hold_first_mail = False
        self.holding = threading.Event()  # a sender is being held at MAIL FROM
        self.release = threading.Event()
        self._held_once = False

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any) -> str:
        if self.hold_first_mail and not self._held_once:
            self._held_once = True
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """``with SmtpServer() as smtp:`` → ``smtp.url`` (an EMAIL_URL), ``smtp.messages``."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def wait_for(self, count: int, *, timeout: float) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the SMTP server got {len(self.messages)} message(s), expected {count}")
            time.sleep(0.05)
        return self.messages

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.release.set()
        self.controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) bodies of a multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, message
    assert html is not None, message
    return text.get_content(), html.get_content()
