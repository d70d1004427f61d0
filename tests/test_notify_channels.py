"""The outside channels against real local servers: a WeCom robot stand-in and an SMTP
server, with the exact payloads; retries, back-off and the delivery log."""

from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from circle.extensions import db as _db
from circle.notify.delivery import deliver_due
from circle.notify.models import Delivery, Preference, WecomWebhook
from tests.notify_servers import MailServer, RobotServer
from tests.steps import wf
from tests.test_notify import T0, loop, register  # noqa: F401  (the fixture)


def _robot(d, url):
    _db.session.add(WecomWebhook(community_id=d.community.id, url=url))
    _db.session.commit()


def test_wecom_robot_gets_the_documented_markdown_message(app, loop):  # noqa: F811
    app.config["CIRCLE_NOTIFY_QUIET_FROM"] = app.config["CIRCLE_NOTIFY_QUIET_UNTIL"] = "00:00"
    with RobotServer() as robot:
        _robot(loop, robot.url)
        issue = register(loop)
        assert deliver_due() == 1
    (call,) = robot.calls
    assert call["path"] == "/cgi-bin/webhook/send?key=test-key-1234"
    assert call["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert call["headers"]["X-Circle-Idempotency-Key"] == f"event:{issue.events[0].id}:wecom:1"
    assert call["body"] == {"msgtype": "markdown", "markdown": {"content": "\n".join([
        f"**您的商圈有新诉求 · #{issue.id} 老王冻品**",
        '> 商户：<font color="comment">老王冻品</font>',
        '> 电话：<font color="comment">138****5678</font>',  # a group: always masked
        '> 诉求：<font color="comment">门店频繁跳闸</font>',
        '> 事项类型：<font color="comment">小事</font>',
        '> 状态：<font color="comment">已登记（联络员办理中） · 一级 · 商圈联络员</font>',
        f'> 办结期限：<font color="comment">{issue.resolution_due_words}</font>',
        '> 环节：<font color="comment">已登记</font>',
        f"[查看诉求](http://127.0.0.1:5000/admin/desk/{issue.id})",
    ])}}
    assert _db.session.scalar(sa.select(Delivery.status)) == "sent"


def test_a_failing_robot_is_retried_with_back_off_and_logged(app, admin_browser, loop):  # noqa: F811
    app.config["CIRCLE_NOTIFY_QUIET_FROM"] = app.config["CIRCLE_NOTIFY_QUIET_UNTIL"] = "00:00"
    app.config["CIRCLE_NOTIFY_MAX_ATTEMPTS"] = 3
    answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"}), (500, {}),
               (200, {"errcode": 0, "errmsg": "ok"})]
    with RobotServer(answers) as robot:
        _robot(loop, robot.url)
        register(loop)
        now = datetime.now(timezone.utc)
        assert deliver_due(now=now) == 0
        delivery = _db.session.scalar(sa.select(Delivery))
        assert (delivery.status, delivery.attempts) == ("retry", 1)
        assert "93000" in delivery.last_error
        assert delivery.next_attempt_at - now == timedelta(seconds=30)
        assert deliver_due(now=now) == 0  # not due yet: nothing is tried
        assert len(robot.calls) == 1
        page = admin_browser.get("/admin/delivery_log/").get_data(as_text=True)
        assert "93000" in page and "失败，将重试" in page
        second = delivery.next_attempt_at + timedelta(seconds=1)
        assert deliver_due(now=second) == 0
        _db.session.expire_all()
        assert delivery.attempts == 2 and "HTTP Error 500" in delivery.last_error
        assert delivery.next_attempt_at - second == timedelta(seconds=60)  # doubled
        assert deliver_due(now=delivery.next_attempt_at + timedelta(seconds=1)) == 1
    _db.session.expire_all()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")


def test_a_robot_that_never_answers_is_given_up_after_the_last_attempt(app, loop):  # noqa: F811
    app.config["CIRCLE_NOTIFY_QUIET_FROM"] = app.config["CIRCLE_NOTIFY_QUIET_UNTIL"] = "00:00"
    app.config["CIRCLE_NOTIFY_MAX_ATTEMPTS"] = 2
    _robot(loop, "http://127.0.0.1:9/cgi-bin/webhook/send?key=nobody")  # discard port
    register(loop)
    later = datetime.now(timezone.utc) + timedelta(days=1)
    deliver_due(now=later)
    deliver_due(now=later + timedelta(hours=1))
    delivery = _db.session.scalar(sa.select(Delivery))
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.last_error.startswith("webhook:")


def test_e_mail_goes_as_text_and_html_with_an_encoded_chinese_subject(app, loop):  # noqa: F811
    app.config["CIRCLE_NOTIFY_QUIET_FROM"] = app.config["CIRCLE_NOTIFY_QUIET_UNTIL"] = "00:00"
    _db.session.add(Preference(user_id=loop.users["specialist"].id, email="zy@example.org",
                               email_enabled=True))
    _db.session.commit()
    issue = register(loop)
    with MailServer() as mail:
        app.config.update(CIRCLE_SMTP_HOST="127.0.0.1", CIRCLE_SMTP_PORT=mail.port,
                          CIRCLE_SMTP_FROM="circle@example.org")
        wf.escalate_to_community(issue, loop.users["liaison"], expected_version=issue.version,
                                 now=T0)
        assert deliver_due() == 1
    (envelope,) = mail.messages
    assert envelope.mail_from == "circle@example.org"
    assert envelope.rcpt_tos == ["zy@example.org"]
    raw = envelope.content
    assert b"Subject: =?utf-8?" in raw  # RFC 2047, not raw UTF-8 in the header
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == f"[诉求已上报社区] #{issue.id} 老王冻品"
    assert message["Message-ID"].endswith("@circle.notify>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "电话：13812345678" in text  # a specialist sees the number in full
    assert f"http://127.0.0.1:5000/admin/desk/{issue.id}" in text
    assert "<th align=\"left\">商户</th><td>老王冻品</td>" in html


def test_without_an_smtp_server_e_mail_fails_visibly(app, loop):  # noqa: F811
    app.config["CIRCLE_NOTIFY_QUIET_FROM"] = app.config["CIRCLE_NOTIFY_QUIET_UNTIL"] = "00:00"
    _db.session.add(Preference(user_id=loop.users["liaison2"].id, email="l2@example.org",
                               email_enabled=True))
    _db.session.commit()
    register(loop)
    assert deliver_due() == 0
    delivery = _db.session.scalar(sa.select(Delivery))
    assert delivery.status == "retry" and "CIRCLE_SMTP_HOST" in delivery.last_error


@pytest.mark.parametrize("wants", [True, False])
def test_people_who_turned_wecom_off_keep_the_group_quiet(app, loop, wants):  # noqa: F811
    app.config["CIRCLE_NOTIFY_QUIET_FROM"] = app.config["CIRCLE_NOTIFY_QUIET_UNTIL"] = "00:00"
    _db.session.add(Preference(user_id=loop.users["liaison2"].id, wecom_enabled=wants))
    _robot(loop, "http://127.0.0.1:9/x?key=k")
    register(loop)  # heard by liaison2 only
    count = _db.session.scalar(sa.select(sa.func.count()).select_from(Delivery))
    assert count == (1 if wants else 0)
