"""The mail outbox: mails are queued in the transaction that causes them and sent by a
background sender inside the server process, to MAIL_URL (smtp://, file://, console://, null://).

Household mails carry only the household id; the sender looks up the address and, for mails
with a magic link, mints the token while rendering, so raw tokens never touch the database.
"""

import logging
import smtplib
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import i18n
from app.config import get_settings
from app.models import Household, MagicLinkToken, OutboxMail, User
from app.models.base import utcnow
from app.models.enums import MailStatus
from app.security import new_token, token_hash

log = logging.getLogger("wijkwerf.mail")
MAX_ATTEMPTS = 8
# Mails whose template offers the resident a magic link to /mijn.
MAGIC_LINK_PURPOSES = {"signup_confirmation", "magic_link", "waitlist_promoted", "status_update",
                       "personal_offer", "quote_comparison"}

mail_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "mail"),
    # Plain-text mails, not HTML: EmailMessage encodes headers and body safely.
    autoescape=False,  # noqa: S701
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
mail_env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
)
mail_env.filters.update(money=i18n.format_money, day=i18n.format_day, instant=i18n.format_instant)


def queue_mail(
    session: Session,
    purpose: str,
    *,
    household_id: int | None = None,
    user_id: int | None = None,
    recipient: str | None = None,
    context: dict[str, Any] | None = None,
) -> OutboxMail:
    """Add a mail to the outbox in the caller's transaction."""
    mail = OutboxMail(
        purpose=purpose,
        household_id=household_id,
        user_id=user_id,
        recipient=recipient,
        locale=i18n.current_language.get(),
        context=context or {},
    )
    session.add(mail)
    return mail


def mint_magic_link(session: Session, household_id: int) -> str:
    """A fresh single-use log-in link; only its hash is stored."""
    settings = get_settings()
    token = new_token()
    session.add(
        MagicLinkToken(
            token_hash=token_hash(token),
            household_id=household_id,
            expires_at=utcnow() + timedelta(minutes=settings.MAGIC_LINK_MINUTES),
        )
    )
    return f"{settings.BASE_URL.rstrip('/')}/r/{token}"


def render_mail(session: Session, mail: OutboxMail) -> EmailMessage | None:
    """Build the message, or None when there is nobody to send it to any more."""
    settings = get_settings()
    context: dict[str, Any] = dict(mail.context)
    context["base_url"] = settings.BASE_URL.rstrip("/")
    to_address = mail.recipient
    if mail.household_id is not None:
        household = session.get(Household, mail.household_id)
        if household is None or household.erased_at is not None or not household.email:
            return None
        to_address = household.email
        context["household"] = household
        if mail.purpose in MAGIC_LINK_PURPOSES:
            context["magic_link"] = mint_magic_link(session, household.id)  # type: ignore[arg-type]
            context["magic_link_minutes"] = settings.MAGIC_LINK_MINUTES
    elif mail.user_id is not None:
        user = session.get(User, mail.user_id)
        if user is None:
            return None
        to_address = user.email
    if not to_address:
        return None
    token = i18n.current_language.set(mail.locale if mail.locale in i18n.SUPPORTED else "nl")
    try:
        template = mail_env.get_template(f"{mail.purpose}.txt")
        ctx = template.new_context(context)
        subject = "".join(template.blocks["subject"](ctx)).strip()
        body = "".join(template.blocks["body"](ctx)).strip() + "\n"
    finally:
        i18n.current_language.reset(token)
    message = EmailMessage()
    message["From"] = settings.MAIL_FROM
    message["To"] = to_address
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="wijkwerf.be")
    message["X-Wijkwerf-Purpose"] = mail.purpose
    message.set_content(body)
    return message


def deliver(message: EmailMessage, mail_url: str) -> None:
    parsed = urlparse(mail_url)
    if parsed.scheme == "smtp":
        with smtplib.SMTP(parsed.hostname or "127.0.0.1", parsed.port or 25, timeout=10) as smtp:
            smtp.send_message(message)
    elif parsed.scheme == "file":
        directory = Path(parsed.path)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{message['X-Wijkwerf-Purpose']}.eml"
        (directory / name).write_bytes(bytes(message))
    elif parsed.scheme == "console":
        print(message.as_string(), flush=True)  # noqa: T201
    elif parsed.scheme == "null":
        return
    else:
        raise ValueError(f"MAIL_URL scheme not supported: {parsed.scheme}")


def send_due_mails(engine: Engine, *, limit: int = 20) -> int:
    """Send what is due, one mail at a time; returns how many were handled.

    A sender claims a mail with a row lock (SKIP LOCKED on PostgreSQL, the write lock on SQLite)
    and takes a lease on it (`next_attempt_at` moves MAIL_LEASE_SECONDS ahead), then commits the
    lease together with any magic-link token the rendering minted, and only then hands the mail
    to the mail server. So no other sender takes it meanwhile, and a link in a mail that left
    always works. A crash between the hand-off and marking it sent means the lease runs out and
    the mail is sent again: at least once, never lost.
    """
    settings = get_settings()
    handled = 0
    while handled < limit:
        with Session(engine, expire_on_commit=False) as session:
            statement = (
                select(OutboxMail)
                .where(
                    OutboxMail.status == MailStatus.pending,
                    OutboxMail.next_attempt_at <= utcnow(),
                )
                .order_by(OutboxMail.id)  # type: ignore[arg-type]
                .limit(1)
            )
            if engine.dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            mail = session.exec(statement).first()
            if mail is None:
                return handled
            handled += 1
            mail.attempts += 1
            mail.next_attempt_at = utcnow() + timedelta(seconds=settings.MAIL_LEASE_SECONDS)
            try:
                message = render_mail(session, mail)
            except Exception as exc:  # a broken template must not stop the other mails
                log.warning("mail %s could not be rendered: %s", mail.id, exc)
                session.rollback()
                _record_failure(session, mail.id, exc)  # type: ignore[arg-type]
                continue
            if message is None:
                mail.status = MailStatus.failed
                mail.last_error = "no recipient"
                session.add(mail)
                session.commit()
                continue
            session.add(mail)
            session.commit()
            try:
                deliver(message, settings.MAIL_URL)
            except Exception as exc:  # retried with backoff
                log.warning("mail %s failed: %s", mail.id, exc)
                _record_failure(session, mail.id, exc)  # type: ignore[arg-type]
                continue
            mail.status = MailStatus.sent
            mail.sent_at = utcnow()
            session.add(mail)
            session.commit()
    return handled


def _record_failure(session: Session, mail_id: int, exc: Exception) -> None:
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        return
    mail.last_error = str(exc)[:500]
    if mail.attempts >= MAX_ATTEMPTS:
        mail.status = MailStatus.failed
    else:
        mail.next_attempt_at = utcnow() + timedelta(seconds=2 ** mail.attempts)
    session.add(mail)
    session.commit()


class MailSender:
    """A daemon thread in the server process that drains the outbox."""

    def __init__(self, engine: Engine, poll_seconds: float) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = send_due_mails(self.engine) > 0
            except Exception:
                log.exception("mail sender pass failed")
                busy = False
            if not busy:
                self._stop.wait(self.poll_seconds)
