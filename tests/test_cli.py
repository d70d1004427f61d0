"""``flask circle`` commands."""

import sqlalchemy as sa

from circle.models import Issue, Merchant, User


def test_create_user_reads_password_from_env(runner, db, monkeypatch):
    monkeypatch.setenv("CIRCLE_PASSWORD", "a-long-admin-password")
    result = runner.invoke(args=["circle", "create-user", "boss", "--display-name", "主任"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "boss"))
    assert user.role == "admin" and user.check_password("a-long-admin-password")


def test_create_user_prompts_for_password(runner, db, monkeypatch):
    monkeypatch.delenv("CIRCLE_PASSWORD", raising=False)
    result = runner.invoke(args=["circle", "create-user", "boss"],
                           input="a-long-admin-password\na-long-admin-password\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User).where(User.username == "boss"))


def test_create_user_refuses_short_password_and_bad_roles(runner, db, monkeypatch):
    monkeypatch.setenv("CIRCLE_PASSWORD", "short")
    assert runner.invoke(args=["circle", "create-user", "x"]).exit_code != 0
    monkeypatch.setenv("CIRCLE_PASSWORD", "a-long-admin-password")
    result = runner.invoke(args=["circle", "create-user", "x", "--role", "liaison"])
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_seed_demo_is_idempotent(runner, db):
    first = runner.invoke(args=["circle", "seed-demo"])
    assert first.exit_code == 0, first.output
    counts = [db.session.scalar(sa.select(sa.func.count()).select_from(m))
              for m in (User, Merchant, Issue)]
    assert all(counts)
    second = runner.invoke(args=["circle", "seed-demo"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    assert counts == [db.session.scalar(sa.select(sa.func.count()).select_from(m))
                      for m in (User, Merchant, Issue)]


def test_demo_has_every_status_and_the_seed_story(runner, db):
    from circle.issues.models import Status

    runner.invoke(args=["circle", "seed-demo"])
    statuses = set(db.session.scalars(sa.select(Issue.status)))
    assert statuses == set(Status.ALL)
    story = db.session.scalar(
        sa.select(Merchant).where(Merchant.owner_name == "王连濛")
    )
    assert story is not None
    assert story.emergency_contacts[0].user.role == "specialist"


def test_demo_login_works(runner, db, browser):
    from circle.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    runner.invoke(args=["circle", "seed-demo"])
    db.session.commit()
    for username, *_ in DEMO_ACCOUNTS:
        response = browser.login(username, DEMO_PASSWORD)
        assert response.status_code == 302, username
        assert browser.get("/admin/").status_code == 200
        browser.logout()
