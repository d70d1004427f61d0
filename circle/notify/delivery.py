"""The outbox relay and the outside channels: WeCom group robots and e-mail over SMTP.

:func:`deliver_due` takes one due delivery at a time: it *claims* it (a lease in
``locked_until``, committed), sends it, and records the outcome (committed). A worker killed
between the two commits loses nothing — the lease runs out and another worker sends the
delivery again, with the same idempotency key (the ``X-Circle-Idempotency-Key`` header of
the webhook call, the e-mail's ``Message-ID``), so that at most the one message in flight
is repeated and a receiver can tell it is the same. A failure is retried after an
exponential back-off (``CIRCLE_NOTIFY_RETRY_SECONDS``, doubling) until
``CIRCLE_NOTIFY_MAX_ATTEMPTS``; the delivery log shows each one's status and last error.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from circle.extensions import db
from circle.i18n import gettext as _
from circle.notify.messages import Message, render
from circle.notify.models import Channel, Delivery, DeliveryStatus
from circle.timeutil import utcnow


class ChannelError(Exception):
    """A channel refused or failed to take a message (retried)."""


# --- channels -------------------------------------------------------------------------------

def wecom_payload(message: Message) -> dict:
    """The group robot's documented markdown message."""
    return {"msgtype": "markdown", "markdown": {"content": message.markdown}}


def send_wecom(url: str, message: Message, key: str) -> None:
    """POST the message to a WeCom group robot; its JSON answer must say ``errcode`` 0."""
    body = json.dumps(wecom_payload(message), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "X-Circle-Idempotency-Key": key})
    timeout = current_app.config["CIRCLE_WEBHOOK_TIMEOUT"]
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read().decode("utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise ChannelError(f"webhook: {exc}") from None
    if answer.get("errcode", 0) != 0:
        raise ChannelError(f"webhook: errcode {answer.get('errcode')}: {answer.get('errmsg')}")


def email_message(message: Message, to: str, key: str) -> EmailMessage:
    """Plain text and HTML alternatives; the Chinese subject is RFC 2047-encoded."""
    config = current_app.config
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = formataddr((_("Red Business Circle"), config["CIRCLE_SMTP_FROM"]))
    mail["To"] = to
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@circle.notify>"
    mail["X-Circle-Idempotency-Key"] = key
    mail.set_content(message.text)
    mail.add_alternative(message.html(), subtype="html")
    return mail


def send_email(to: str, message: Message, key: str) -> None:
    """Send over SMTP (``CIRCLE_SMTP_*``): plain, STARTTLS or SSL, with a login if set."""
    config = current_app.config
    host = config["CIRCLE_SMTP_HOST"]
    if not host:
        raise ChannelError("e-mail: CIRCLE_SMTP_HOST is not set")
    mail = email_message(message, to, key)
    security = config["CIRCLE_SMTP_SECURITY"]
    timeout = config["CIRCLE_WEBHOOK_TIMEOUT"]
    try:
        cls = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
        with cls(host, config["CIRCLE_SMTP_PORT"], timeout=timeout) as smtp:
            if security == "starttls":
                smtp.starttls()
            if config["CIRCLE_SMTP_USER"]:
                smtp.login(config["CIRCLE_SMTP_USER"], config["CIRCLE_SMTP_PASSWORD"] or "")
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"e-mail: {exc}") from None


def send(delivery: Delivery) -> None:
    """Send one delivery on its channel, in the app's default language."""
    with force_locale(current_app.config["CIRCLE_LOCALE"]):
        if delivery.channel == Channel.WECOM:
            webhook = delivery.webhook
            if webhook is None or not webhook.active:
                raise ChannelError("webhook: removed or switched off")
            send_wecom(webhook.url, render(delivery.notice, None), delivery.key)
        else:
            from circle.notify.models import Preference

            pref = db.session.get(Preference, delivery.user_id)
            if pref is None or not pref.email:
                raise ChannelError("e-mail: the person has no address")
            send_email(pref.email, render(delivery.notice, delivery.user), delivery.key)


# --- the relay ------------------------------------------------------------------------------

def _due(now: datetime):
    return sa.and_(Delivery.status.in_(DeliveryStatus.WAITING), Delivery.next_attempt_at <= now,
                   sa.or_(Delivery.locked_until.is_(None), Delivery.locked_until < now))


def claim_one(now: datetime) -> int | None:
    """Take the next due delivery for this worker (committed), or ``None``."""
    session = db.session
    pick = sa.select(Delivery.id).where(_due(now)).order_by(Delivery.next_attempt_at).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    claimed = session.scalar(
        sa.update(Delivery).where(Delivery.id == pick.scalar_subquery(), _due(now))
        .values(locked_until=now + timedelta(
            seconds=current_app.config["CIRCLE_NOTIFY_LEASE_SECONDS"]),
            attempts=Delivery.attempts + 1)
        .returning(Delivery.id))
    session.commit()
    return claimed


def deliver_one(delivery_id: int, now: datetime | None = None) -> bool:
    """Send a claimed delivery and record the outcome; whether it went."""
    session = db.session
    delivery = session.get(Delivery, delivery_id)
    now = now or utcnow()
    try:
        send(delivery)
    except ChannelError as exc:
        from circle.jobs import next_attempt

        delivery.last_error = str(exc)[:1000]
        delivery.locked_until = None
        if delivery.attempts >= current_app.config["CIRCLE_NOTIFY_MAX_ATTEMPTS"]:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.status = DeliveryStatus.RETRY
            delivery.next_attempt_at = next_attempt(
                delivery.attempts, current_app.config["CIRCLE_NOTIFY_RETRY_SECONDS"], now)
        session.commit()
        return False
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, now
    delivery.locked_until, delivery.last_error = None, ""
    session.commit()
    return True


def deliver_due(limit: int = 500, now: datetime | None = None) -> int:
    """Send up to ``limit`` due deliveries, one claim at a time; how many went."""
    sent = 0
    for _attempt in range(limit):
        moment = now or utcnow()
        delivery_id = claim_one(moment)
        if delivery_id is None:
            break
        sent += deliver_one(delivery_id, moment)
    return sent
