"""Concurrent creations of the same merchant end in one row (a unique index plus a retry,
not a lock in one process), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from circle.merchants.models import Merchant
from tests.conftest import csrf_token_from
from tests.test_api import bearer, order, seed_api_world
from tests.test_import import GOOD_ROWS, URL, csv_bytes, hidden, import_records, upload


def _at_once(n: int, call) -> list:
    """Run ``call(i)`` in ``n`` threads released together; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait(timeout=20)
        try:
            results[i] = call(i)
        except Exception as exc:  # shown in the assertion, not lost in the thread
            results[i] = repr(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _merchants_named(db, name: str) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)
                             .where(Merchant.shop_name == name))


def test_twenty_api_registrations_of_one_new_merchant_make_one(app, db):
    app.config["CIRCLE_API_FEED_SETTLE_SECONDS"] = 0
    app.config["CIRCLE_API_RATE_LIMIT"] = "1000 per minute"
    world = seed_api_world()
    merchant = {"shop_name": "并发新店", "phone": "13912345678"}

    payloads = [order(world, work_order_no=f"JN20240621-{i:04d}", merchant=merchant)
                for i in range(20)]
    headers = bearer(world.secret)

    def post(i):
        response = app.test_client().post("/api/v1/issues", json=payloads[i], headers=headers)
        return response.status_code

    codes = _at_once(20, post)
    assert all(code in (201, 409) for code in codes), codes
    assert codes.count(201) >= 1
    assert _merchants_named(db, "并发新店") == 1


def test_the_unique_index_refuses_a_second_identical_merchant(db, data):
    from tests import factories as f

    f.MerchantFactory(circle=data.east, shop_name="同名店", phone="13900000001")
    db.session.commit()
    try:
        f.MerchantFactory(circle=data.east, shop_name="同名店", phone="13900000001")
        db.session.flush()
        raised = False
    except sa.exc.IntegrityError:
        raised = True
    db.session.rollback()
    assert raised
    assert _merchants_named(db, "同名店") == 1


def test_ten_confirmations_at_once_import_once(app, admin_browser, db, data):
    report = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS)).get_data(as_text=True)
    form = {"confirm-csrf_token": csrf_token_from(report),
            "confirm-token": hidden(report, "confirm-token")}
    cookie = admin_browser.client.get_cookie("session").value

    def post(i):
        client = app.test_client()
        client.set_cookie("session", cookie)
        return client.post(URL + "confirm", data=form).status_code

    codes = _at_once(10, post)
    assert all(isinstance(code, int) and code < 500 for code in codes), codes
    db.session.expire_all()
    names = [row[0] for row in GOOD_ROWS]
    counts = [_merchants_named(db, name) for name in names]
    assert counts == [1] * len(names), counts
    assert len(import_records(db)) == 1
    # The confirmation is spent: sent once more, it is refused with its reason, in Chinese.
    client = app.test_client()
    client.set_cookie("session", cookie)
    again = client.post(URL + "confirm", data=form, follow_redirects=True)
    assert "已经导入过" in again.get_data(as_text=True)
    assert len(import_records(db)) == 1


def test_a_used_confirmation_is_refused_even_when_its_rows_would_import_again(
        admin_browser, db, data):
    """Merchants deleted after an import do not make its confirmation usable again."""
    from tests.test_import import confirm

    report = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS)).get_data(as_text=True)
    assert confirm(admin_browser, report).status_code == 302
    for merchant in db.session.scalars(sa.select(Merchant).where(
            Merchant.shop_name.in_([row[0] for row in GOOD_ROWS]))):
        db.session.delete(merchant)
    db.session.commit()
    again = confirm(admin_browser, report)
    assert again.status_code == 302
    page = admin_browser.get(again.headers["Location"]).get_data(as_text=True)
    assert "已经导入过" in page
    assert _merchants_named(db, GOOD_ROWS[0][0]) == 0
    assert len(import_records(db)) == 1
