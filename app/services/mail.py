"""The mail outbox: mails are queued in the transaction that causes them and sent by a
background sender inside the server process, to MAIL_URL (smtp://, file://, console://, null://).

Household mails carry only the household id; the sender looks up the address and, for mails
with a magic link, mints the token while rendering, so raw tokens never touch the database.
"""

import logging
import smtplib
import threading
import time
from contextlib import suppress
from datetime import timedelta
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Connection, Engine, bindparam, update
from sqlmodel import Session, col, select

from app import i18n
from app.config import get_settings
from app.db import write_turn
from app.models import Household, MagicLinkToken, OutboxMail, User
from app.models.base import utcnow
from app.models.enums import MailStatus
from app.security import new_token, token_hash

log = logging.getLogger("wijkwerf.mail")
# UTF-8 bodies sent as they are (8bit), readable in the raw message.
_UTF8_8BIT = Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # type: ignore[assignment]
MAX_ATTEMPTS = 8
# Mails whose template offers the resident a magic link to /mijn.
MAGIC_LINK_PURPOSES = {"signup_confirmation", "magic_link", "waitlist_promoted", "status_update",
                       "personal_offer", "quote_comparison"}

mail_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "mail"),
    # Plain-text mails, not HTML: the message encodes headers and body safely.
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


def render_mail(session: Session, mail: OutboxMail) -> Message | None:
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
    # Built with the classic email API: the modern EmailMessage parses every header it is
    # given, which cost 20 times as much (a plain-text UTF-8 mail needs none of it).
    message = Message()
    message["From"] = settings.MAIL_FROM
    message["To"] = to_address
    message["Subject"] = Header(" ".join(subject.split()), "utf-8")  # type: ignore[assignment]
    message["Message-ID"] = make_msgid(domain="wijkwerf.be")
    message["X-Wijkwerf-Purpose"] = mail.purpose
    message["MIME-Version"] = "1.0"
    message.set_payload(body, _UTF8_8BIT)
    return message


class Deliveries:
    """Hands messages to MAIL_URL; a batch shares one SMTP connection."""

    def __init__(self, mail_url: str) -> None:
        self.url = urlparse(mail_url)
        if self.url.scheme not in {"smtp", "file", "console", "null"}:
            raise ValueError(f"MAIL_URL scheme not supported: {self.url.scheme}")
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Deliveries":
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._smtp is not None:
            with suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None

    def send(self, message: Message) -> None:
        scheme = self.url.scheme
        if scheme == "smtp":
            if self._smtp is None:
                self._smtp = smtplib.SMTP(self.url.hostname or "127.0.0.1", self.url.port or 25,
                                          timeout=10)
            try:
                self._smtp.send_message(message)
            except (smtplib.SMTPServerDisconnected, OSError):
                self._smtp = None  # the next message opens a new connection
                raise
        elif scheme == "file":
            directory = Path(self.url.path)
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{message['X-Wijkwerf-Purpose']}.eml"
            (directory / name).write_bytes(bytes(message))
        elif scheme == "console":
            print(message.as_string(), flush=True)  # noqa: T201


def send_due_mails(engine: Engine | Connection, *, limit: int = 50) -> int:
    """Send what is due, up to `limit` mails in one batch; returns how many were handled.

    A sender claims the batch with row locks (SKIP LOCKED on PostgreSQL, the write lock on
    SQLite) and takes a lease on each mail (`next_attempt_at` moves MAIL_LEASE_SECONDS ahead),
    then commits the leases together with any magic-link tokens the rendering minted, and only
    then hands the mails to the mail server. So no other sender takes them meanwhile, and a link
    in a mail that left always works. A crash between the hand-off and marking them sent means
    the leases run out and those mails are sent again: at least once, never lost.
    """
    settings = get_settings()
    ready: list[tuple[int, Message]] = []
    with write_turn(engine.engine, background=True), \
            Session(engine, expire_on_commit=False) as session:
        statement = (
            select(OutboxMail)
            .where(OutboxMail.status == MailStatus.pending,
                   OutboxMail.next_attempt_at <= utcnow())
            .order_by(OutboxMail.id)  # type: ignore[arg-type]
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        mails = session.exec(statement).all()
        if not mails:
            return 0
        lease_until = utcnow() + timedelta(seconds=settings.MAIL_LEASE_SECONDS)
        # The batch's households in one query; rendering finds them in the session (which holds
        # them only weakly: keep the list).
        household_ids = {mail.household_id for mail in mails if mail.household_id is not None}
        households = session.exec(
            select(Household).where(col(Household.id).in_(household_ids))).all()
        for mail in mails:
            assert mail.id is not None
            mail.attempts += 1
            mail.next_attempt_at = lease_until
            try:
                message = render_mail(session, mail)
            except Exception as exc:  # a broken template must not stop the other mails
                log.warning("mail %s could not be rendered: %s", mail.id, exc)
                _note_failure(mail, exc)
                continue
            if message is None:
                mail.status = MailStatus.failed
                mail.last_error = "no recipient"
                continue
            ready.append((mail.id, message))
        session.add_all(mails)
        session.commit()
        del households
    # Each mail is marked sent right after its hand-off (one short UPDATE), so a crash can send
    # at most the mail in hand again, not the rest of the batch.
    failed: list[tuple[int, Exception]] = []
    table = OutboxMail.__table__  # type: ignore[attr-defined]
    mark_sent = (update(table).where(table.c.id == bindparam("mail_id"))
                 .values(status=MailStatus.sent.value, sent_at=bindparam("sent_at")))
    with Deliveries(settings.MAIL_URL) as deliveries, Session(engine) as marks:
        for mail_id, message in ready:
            try:
                deliveries.send(message)
            except Exception as exc:  # retried with backoff
                log.warning("mail %s failed: %s", mail_id, exc)
                failed.append((mail_id, exc))
                continue
            with write_turn(engine.engine, background=True):
                marks.connection().execute(mark_sent, {"mail_id": mail_id, "sent_at": utcnow()})
                marks.commit()
    if failed:
        with write_turn(engine.engine, background=True), \
                Session(engine, expire_on_commit=False) as session:
            for mail_id, error in failed:
                failing = session.get(OutboxMail, mail_id)
                if failing is not None:
                    _note_failure(failing, error)
                    session.add(failing)
            session.commit()
    return len(mails)


def _note_failure(mail: OutboxMail, exc: Exception) -> None:
    """Retry later with backoff, or give up after MAX_ATTEMPTS."""
    mail.last_error = str(exc)[:500]
    if mail.attempts >= MAX_ATTEMPTS:
        mail.status = MailStatus.failed
    else:
        mail.next_attempt_at = utcnow() + timedelta(seconds=2 ** mail.attempts)


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
