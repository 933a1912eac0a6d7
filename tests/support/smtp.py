"""A real SMTP server on a loopback port that keeps every message it receives."""

import email
import email.policy
import re
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port


def as_delivered(message: Message) -> EmailMessage:
    """A rendered mail as its recipient's mail program reads it (headers and body decoded)."""
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body_text(message: EmailMessage) -> str:
    """The plain-text body (or the HTML one when there is no plain part)."""
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://[^\s<>\"')\]]+", body_text(message))


class SmtpSink:
    """Collects mail as `EmailMessage`s; `wait_for` blocks until a matching one arrives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._condition = threading.Condition()
        self._controller: Controller | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        # Keep the envelope: a mail's real recipients are the RCPT TOs, not its To: header.
        message["X-Envelope-From"] = envelope.mail_from or ""
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._condition:
            self.messages.append(message)
            self._condition.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> None:
        last_error: Exception | None = None
        for _attempt in range(3):
            self.port = free_port()
            controller = Controller(
                self, hostname=self.host, port=self.port, ready_timeout=10, enable_SMTPUTF8=True
            )
            try:
                controller.start()
            except Exception as error:  # the port was taken meanwhile
                last_error = error
                continue
            self._controller = controller
            return
        raise RuntimeError(f"could not start the SMTP sink: {last_error!r}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._condition:
            self.messages.clear()

    def wait_for(
        self,
        predicate: Callable[[EmailMessage], bool] = lambda _message: True,
        timeout: float = 10.0,
    ) -> EmailMessage:
        """The first message (already received or arriving within `timeout`) that matches."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    received = [f"{m['To']!s}: {m['Subject']!s}" for m in self.messages] or [
                        "nothing"
                    ]
                    raise AssertionError(
                        f"no matching mail within {timeout}s; received: {'; '.join(received)}"
                    )
                self._condition.wait(remaining)

    def wait_for_recipient(self, address: str, timeout: float = 10.0) -> EmailMessage:
        address = address.lower()
        return self.wait_for(
            lambda message: address in str(message["X-Envelope-To"]).lower(), timeout
        )

    def wait_for_count(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} mails within {timeout}s, got {len(self.messages)}"
                    )
                self._condition.wait(remaining)
            return list(self.messages)
