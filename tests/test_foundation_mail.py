"""The outbox and its sender: delivery to SMTP and files, retries, no raw tokens stored."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from app.config import get_settings
from app.models import MagicLinkToken, OutboxMail
from app.services import mail
from tests.factories import make_campaign, make_household
from tests.support.smtp import SmtpSink, body_text


def _deliver_with(monkeypatch: pytest.MonkeyPatch, mail_url: str) -> None:
    monkeypatch.setattr(get_settings(), "MAIL_URL", mail_url)


def test_outbox_mail_is_delivered_to_smtp(
    db_session: Session, engine: Engine, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deliver_with(monkeypatch, smtp_sink.url)
    outbox = mail.queue_mail(db_session, "test_message", recipient="els@example.be",
                             context={"name": "Els"})
    db_session.flush()
    # The sender works on its own connection; run it on the test's connection instead.
    handled = mail.send_due_mails(db_session.get_bind())  # type: ignore[arg-type]
    assert handled >= 1
    message = smtp_sink.wait_for_recipient("els@example.be")
    assert "Els" in body_text(message)
    db_session.refresh(outbox)
    assert outbox.status == "sent" and outbox.sent_at is not None


def test_failed_delivery_is_retried_later(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deliver_with(monkeypatch, "smtp://127.0.0.1:9")  # nothing listens on the discard port
    outbox = mail.queue_mail(db_session, "test_message", recipient="a@example.be",
                             context={"name": "A"})
    db_session.flush()
    mail.send_due_mails(db_session.get_bind(), limit=1)  # type: ignore[arg-type]
    db_session.refresh(outbox)
    assert outbox.status == "pending"
    assert outbox.attempts == 1 and outbox.last_error
    assert outbox.next_attempt_at > outbox.created_at


def test_magic_link_mail_stores_only_the_token_hash(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deliver_with(monkeypatch, f"file://{tmp_path}")
    campaign = make_campaign(db_session)
    household = make_household(db_session, campaign=campaign, email="an@example.be")
    mail.queue_mail(db_session, "magic_link", household_id=household.id)
    db_session.flush()
    mail.send_due_mails(db_session.get_bind())  # type: ignore[arg-type]
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    content = files[0].read_text()
    token = content.split("/r/", 1)[1].split()[0]
    assert len(token) >= 43  # 256 bits, URL-safe
    stored = db_session.exec(select(MagicLinkToken)).all()
    assert stored and all(row.token_hash != token for row in stored)
    dump = "\n".join(
        str(row) for row in db_session.exec(text("SELECT * FROM outbox_mail")).all()  # type: ignore[call-overload]
    )
    assert token not in dump
    assert db_session.exec(select(OutboxMail)).first() is not None


def test_during_a_rush_mails_wait_until_the_oldest_has_waited_long_enough(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deliver_with(monkeypatch, f"file://{tmp_path}")
    outbox = mail.queue_mail(db_session, "test_message", recipient="rush@example.be",
                             context={"name": "Rush"})
    db_session.flush()
    # Queued just now: held back while sign-ups are being written...
    assert mail.send_due_mails(db_session.get_bind(),  # type: ignore[arg-type]
                               waited_at_least=mail.RUSH_MAX_DELAY) == 0
    db_session.refresh(outbox)
    assert outbox.status == "pending" and outbox.attempts == 0
    assert not list(tmp_path.glob("*.eml"))
    # ...and sent once the oldest due mail has waited RUSH_MAX_DELAY seconds.
    outbox.created_at -= timedelta(seconds=mail.RUSH_MAX_DELAY + 1)
    db_session.add(outbox)
    db_session.flush()
    assert mail.send_due_mails(db_session.get_bind(),  # type: ignore[arg-type]
                               waited_at_least=mail.RUSH_MAX_DELAY) == 1
    db_session.refresh(outbox)
    assert outbox.status == "sent"
    assert len(list(tmp_path.glob("*.eml"))) == 1
