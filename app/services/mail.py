"""The mail outbox: mails are queued in the transaction that causes them and sent by a
background sender inside the server process, to MAIL_URL (smtp://, file://, console://, null://).

Household mails carry only the household id; the sender looks up the address and, for mails
with a magic link, mints the token while rendering, so raw tokens never touch the database.
"""

import logging
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Connection, Engine, bindparam, func, insert, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, col, select

from app import i18n, observability
from app.config import get_settings
from app.db import foreground_wrote_within, write_turn
from app.models import ClaimToken, Household, MagicLinkToken, OutboxMail, User
from app.models.base import utcnow
from app.models.enums import MailStatus
from app.security import new_token, token_hash

log = logging.getLogger("wijkwerf.mail")
# UTF-8 bodies sent as they are (8bit), readable in the raw message.
_UTF8_8BIT = Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # type: ignore[assignment]
MAX_ATTEMPTS = 8
# While this process's sign-up writer wrote in the last RUSH_QUIET seconds, the sender leaves
# the machine to the sign-ups: it sends only once the oldest due mail has waited RUSH_MAX_DELAY
# seconds, so a burst is answered first and its confirmation mails follow right after it (and
# under a rush that lasts, mails go out about RUSH_MAX_DELAY seconds late, never later).
RUSH_QUIET = 0.25
RUSH_MAX_DELAY = 15.0
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


def with_request_id(context: dict[str, Any]) -> dict[str, Any]:
    """A mail's context with the id of the request that queued it (its X-Request-ID header)."""
    current = observability.current_request_id()
    return {**context, "request_id": current} if current else context


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
        context=with_request_id(context or {}),
    )
    session.add(mail)
    return mail


def mint_magic_link(session: Session, household_id: int) -> str:
    """A fresh single-use log-in link; only its hash is stored."""
    link, token = _new_magic_link(household_id)
    session.add(MagicLinkToken(**token))
    return link


def _new_magic_link(household_id: int) -> tuple[str, dict[str, Any]]:
    """The link and its token's row (a plain dict: the sender inserts a batch of them)."""
    settings = get_settings()
    token = new_token()
    now = utcnow()
    row = {"token_hash": token_hash(token), "household_id": household_id, "created_at": now,
           "expires_at": now + timedelta(minutes=settings.MAGIC_LINK_MINUTES)}
    return f"{settings.BASE_URL.rstrip('/')}/r/{token}", row


def _claim_link(session: Session, claim_id: int, purpose: str,
                tokens: list[dict[str, Any]] | None) -> str:
    from app.services.claims import new_claim_link  # claims queues mail through this module

    link, row = new_claim_link(claim_id, purpose)
    if tokens is None:
        session.add(ClaimToken(**row))
    else:
        tokens.append(row)
    return link


def render_mail(session: Session, mail: OutboxMail,
                tokens: list[dict[str, Any]] | None = None) -> Message | None:
    """Build the message, or None when there is nobody to send it to any more. A magic link's
    token is added to `session`, or to `tokens` for the caller to store."""
    settings = get_settings()
    context: dict[str, Any] = dict(mail.context)
    context["base_url"] = settings.BASE_URL.rstrip("/")
    to_address = mail.recipient
    claim_id = context.get("claim_id")
    if mail.household_id is not None:
        household = session.get(Household, mail.household_id)
        if household is None or household.erased_at is not None or not household.email:
            return None
        to_address = household.email
        context["household"] = household
        if mail.purpose in MAGIC_LINK_PURPOSES:
            assert household.id is not None
            if tokens is None:
                context["magic_link"] = mint_magic_link(session, household.id)
            else:
                context["magic_link"], token_row = _new_magic_link(household.id)
                tokens.append(token_row)
            context["magic_link_minutes"] = settings.MAGIC_LINK_MINUTES
        if mail.purpose == "claim_notice" and claim_id is not None:
            context["confirm_link"] = _claim_link(session, int(claim_id), "notice", tokens)
    elif claim_id is not None and mail.purpose in MAGIC_LINK_PURPOSES:
        # To whoever signed up at a known address: the mail any sign-up gets, with a link to
        # their own claim (app.services.claims) instead of the household.
        context["household"] = {"name": context.get("claimant_name", "")}
        context["magic_link"] = _claim_link(session, int(claim_id), "receipt", tokens)
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
    if isinstance(mail.context.get("request_id"), str):
        message["X-Request-ID"] = mail.context["request_id"]
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

    def send(self, message: Message, *, household_id: int | None = None) -> None:
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
            _purge_old_mail_files(directory)
            name = f"{time.time_ns()}-{message['X-Wijkwerf-Purpose']}-h{household_id or 0}.eml"
            (directory / name).write_bytes(bytes(message))
        elif scheme == "console":
            print(message.as_string(), flush=True)  # noqa: T201


# When this process last deleted the file mailer's old files (at most once a minute).
_last_purge = 0.0
PURGE_EVERY_SECONDS = 60.0


def _purge_old_mail_files(directory: Path) -> None:
    """Delete the file mailer's .eml files older than MAIL_FILE_RETENTION_DAYS."""
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_EVERY_SECONDS:
        return
    _last_purge = time.monotonic()
    cutoff = time.time() - get_settings().MAIL_FILE_RETENTION_DAYS * 86400
    for path in directory.glob("*.eml"):
        with suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def erase_mail_files(household_id: int) -> int:
    """Delete the file mailer's copies of the mails sent to or about a household (its erasure);
    returns how many. Nothing to do for the other mailers: an SMTP server's copies are the
    mail provider's, described in docs/DEPLOY.md."""
    url = urlparse(get_settings().MAIL_URL)
    if url.scheme != "file" or not Path(url.path).is_dir():
        return 0
    deleted = 0
    for path in Path(url.path).glob(f"*-h{household_id}.eml"):
        with suppress(OSError):
            path.unlink()
            deleted += 1
    return deleted


@dataclass(frozen=True)
class OutboxLag:
    """How far the mail sender is behind: mails due now, how long the oldest has waited past
    its attempt time, and the mails it gave up on. Counted with the outbox's due index."""

    due: int
    oldest_due_seconds: float
    failed: int


def outbox_lag(session: Session) -> OutboxLag:
    now = utcnow()
    due, oldest = session.exec(
        select(func.count(), func.min(OutboxMail.next_attempt_at))
        .where(OutboxMail.status == MailStatus.pending, OutboxMail.next_attempt_at <= now)
    ).one()
    failed = session.exec(select(func.count()).select_from(OutboxMail)
                          .where(OutboxMail.status == MailStatus.failed)).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return OutboxLag(due=int(due), oldest_due_seconds=round(age, 1), failed=int(failed))


def send_due_mails(engine: Engine | Connection, *, limit: int = 50,
                   waited_at_least: float | None = None) -> int:
    """Send what is due, up to `limit` mails in one batch; returns how many were handled. With
    `waited_at_least`, nothing is sent unless the oldest due mail was queued that many seconds
    ago.

    1. The due mails are read and rendered on a read-only session: no write lock is held while
       templates render, so sign-ups are not kept waiting.
    2. One short write claims them: an UPDATE that takes a lease on each mail that is still
       pending (`next_attempt_at` moves MAIL_LEASE_SECONDS ahead) and returns the ids it got;
       a mail another sender claimed meanwhile is not returned and not sent. The same
       transaction stores the magic-link tokens of the claimed mails, so a link in a mail that
       left always works.
    3. Each mail is handed to the mail server and then marked sent. A crash between the two
       means the lease runs out and that mail is sent again: at least once, never lost.
    """
    settings = get_settings()
    now = utcnow()
    reader = engine.execution_options(read_only=True) if isinstance(engine, Engine) else engine
    rendered: dict[int, tuple[Message | None, list[dict[str, Any]], Exception | None]] = {}
    household_of: dict[int | None, int | None] = {}  # names the file mailer's copy
    with Session(reader, expire_on_commit=False) as session:
        mails = session.exec(
            select(OutboxMail)
            .where(OutboxMail.status == MailStatus.pending, OutboxMail.next_attempt_at <= now)
            .order_by(OutboxMail.id)  # type: ignore[arg-type]
            .limit(limit)
        ).all()
        if not mails or (waited_at_least is not None and
                         (now - mails[0].created_at).total_seconds() < waited_at_least):
            return 0
        # The batch's households in one query; rendering finds them in the session (which holds
        # them only weakly: keep the list).
        household_of = {mail.id: mail.household_id for mail in mails}
        household_ids = {mail.household_id for mail in mails if mail.household_id is not None}
        households = session.exec(
            select(Household).where(col(Household.id).in_(household_ids))).all()
        for mail in mails:
            assert mail.id is not None
            tokens: list[dict[str, Any]] = []
            try:
                rendered[mail.id] = (render_mail(session, mail, tokens), tokens, None)
            except Exception as exc:  # a broken template must not stop the other mails
                log.warning("mail %s could not be rendered: %s", mail.id, type(exc).__name__)
                rendered[mail.id] = (None, [], exc)
        del households
        session.rollback()

    table = OutboxMail.__table__  # type: ignore[attr-defined]
    lease_until = utcnow() + timedelta(seconds=settings.MAIL_LEASE_SECONDS)
    ready: list[tuple[int, Message]] = []
    new_tokens: list[dict[str, Any]] = []
    with write_turn(_engine_of(engine), background=True), \
            Session(engine, expire_on_commit=False) as session:
        claimed = set(session.connection().execute(
            update(table)
            .where(table.c.id.in_(list(rendered)), table.c.status == MailStatus.pending.value,
                   table.c.next_attempt_at <= now)
            .values(attempts=table.c.attempts + 1, next_attempt_at=lease_until)
            .returning(table.c.id)
        ).scalars())
        for mail_id in sorted(claimed):
            message, tokens, error = rendered[mail_id]
            if error is not None:
                _note_failure(session, mail_id, error)
            elif message is None:
                session.connection().execute(
                    update(table).where(table.c.id == mail_id)
                    .values(status=MailStatus.failed.value, last_error="no recipient"))
            else:
                new_tokens.extend(tokens)
                ready.append((mail_id, message))
        household_tokens = [row for row in new_tokens if "claim_id" not in row]
        claim_tokens = [row for row in new_tokens if "claim_id" in row]
        if household_tokens:
            session.connection().execute(
                insert(MagicLinkToken.__table__), household_tokens)  # type: ignore[attr-defined]
        if claim_tokens:
            session.connection().execute(
                insert(ClaimToken.__table__), claim_tokens)  # type: ignore[attr-defined]
        session.commit()
    # Each mail is marked sent right after its hand-off (one short UPDATE), so a crash can send
    # at most the mail in hand again, not the rest of the batch.
    failed: list[tuple[int, Exception]] = []
    mark_sent = (update(table).where(table.c.id == bindparam("mail_id"))
                 .values(status=MailStatus.sent.value, sent_at=bindparam("sent_at")))
    with Deliveries(settings.MAIL_URL) as deliveries, _committing(engine) as commit:
        for mail_id, message in ready:
            try:
                deliveries.send(message, household_id=household_of.get(mail_id))
            except Exception as exc:  # retried with backoff
                # Not the error's text: an SMTP refusal repeats the recipient's address.
                log.warning("mail %s failed: %s %s", mail_id, type(exc).__name__,
                            getattr(exc, "smtp_code", ""))
                failed.append((mail_id, exc))
                continue
            with write_turn(_engine_of(engine), background=True):
                commit(mark_sent, {"mail_id": mail_id, "sent_at": utcnow()})
    if failed:
        with write_turn(_engine_of(engine), background=True), \
                Session(engine, expire_on_commit=False) as session:
            for mail_id, error in failed:
                _note_failure(session, mail_id, error)
            session.commit()
    return len(claimed)


def _engine_of(bind: Engine | Connection) -> Engine:
    return bind if isinstance(bind, Engine) else bind.engine


@contextmanager
def _committing(bind: Engine | Connection) -> Iterator[Callable[..., None]]:
    """A function that runs one statement and commits it, on a connection of its own (lighter
    than a Session for one UPDATE at a time); on a given connection (tests run the sender on
    theirs) it commits a savepoint instead."""
    if isinstance(bind, Connection):
        def in_savepoint(statement: Any, parameters: dict[str, Any]) -> None:
            with bind.begin_nested():
                bind.execute(statement, parameters)
        yield in_savepoint
        return
    with bind.connect() as connection:
        def committed(statement: Any, parameters: dict[str, Any]) -> None:
            connection.execute(statement, parameters)
            connection.commit()
        yield committed


def _note_failure(session: Session, mail_id: int, exc: Exception) -> None:
    """Retry later with backoff, or give up after MAX_ATTEMPTS (`attempts` counts this one)."""
    mail = session.get(OutboxMail, mail_id, populate_existing=True)
    if mail is None:
        return
    mail.last_error = str(exc)[:500]
    if mail.attempts >= MAX_ATTEMPTS:
        mail.status = MailStatus.failed
    else:
        mail.next_attempt_at = utcnow() + timedelta(seconds=2 ** mail.attempts)
    session.add(mail)


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
        waiting_for_database = False
        while not self._stop.is_set():
            # During a sign-up rush the households waiting for their answer go first: mails wait
            # until the rush pauses, or until the oldest has waited RUSH_MAX_DELAY seconds.
            rush = foreground_wrote_within(RUSH_QUIET)
            try:
                busy = send_due_mails(
                    self.engine, waited_at_least=RUSH_MAX_DELAY if rush else None) > 0
                if waiting_for_database:
                    log.info("mail sender reaches the database again")
                    waiting_for_database = False
            except (OperationalError, InterfaceError) as exc:
                # The database is down or restarting: one line, not a traceback per poll.
                if not waiting_for_database:
                    cause = str(getattr(exc, "orig", exc)).strip().splitlines()
                    log.warning("mail sender waits for the database: %s",
                                cause[0][:200] if cause else type(exc).__name__)
                    waiting_for_database = True
                busy = False
            except Exception:
                log.exception("mail sender pass failed")
                busy = False
            if not busy:
                self._stop.wait(RUSH_QUIET / 2 if rush else self.poll_seconds)
