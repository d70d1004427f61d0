"""Simplified Chinese by default, English on request, and the catalogue is complete."""

from pathlib import Path

from babel.messages.pofile import read_po


def test_switch_to_english_and_back(admin_browser):
    assert "商户" in admin_browser.get("/admin/merchant/").get_data(as_text=True)
    response = admin_browser.submit("/lang/en", {"next": "/admin/merchant/"},
                                    form_url="/admin/merchant/")
    assert response.headers["Location"].endswith("/admin/merchant/")
    html = admin_browser.get("/admin/merchant/").get_data(as_text=True)
    assert "Merchants" in html and "Shop name" in html
    admin_browser.submit("/lang/zh_CN", {"next": "/admin/"}, form_url="/admin/")
    assert "商户" in admin_browser.get("/admin/merchant/").get_data(as_text=True)


def test_language_switch_ignores_foreign_next(admin_browser):
    response = admin_browser.submit("/lang/en", {"next": "//evil.example/"}, form_url="/admin/")
    assert response.headers["Location"].endswith("/admin/")


def test_every_message_is_translated():
    po_path = Path(__file__).parents[1] / "circle/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == [] and fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    """The committed .mo must be compiled from the current .po (``make translations``)."""
    from babel.messages.mofile import read_mo

    root = Path(__file__).parents[1] / "circle/translations/zh_Hans_CN/LC_MESSAGES"
    def key(value):  # plural entries come as lists
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with (root / "messages.po").open("rb") as fh:
        po = {key(m.id): key(m.string) for m in read_po(fh) if m.id}
    with (root / "messages.mo").open("rb") as fh:
        mo = {key(m.id): key(m.string) for m in read_mo(fh) if m.id}
    assert po == mo


def test_templates_translate_per_locale_also_when_forced(app):
    """Templates' ``_()`` caches the catalogue per request (circle.i18n.current_translations):
    a forced locale (notifications are written in the recipient's language) and a
    refreshed one are still honoured, and a new request starts afresh."""
    from flask import render_template_string, session
    from flask_babel import force_locale, refresh

    page = "{{ _('Overview') }}"
    with app.test_request_context("/"):
        assert render_template_string(page) == "概览"
        with force_locale("en"):
            assert render_template_string(page) == "Overview"
        assert render_template_string(page) == "概览"
        session["lang"] = "en"
        refresh()
        assert render_template_string(page) == "Overview"
    with app.test_request_context("/"):
        assert render_template_string(page) == "概览"


def test_the_apps_gettext_is_flask_babels_also_when_forced(app):
    """circle.i18n's gettext and lazy_gettext (what the app imports: the catalogue kept per
    request) give what Flask-Babel's give, in the request's locale, a forced one, a
    refreshed one, with variables, outside any request; and so do Flask-Admin's own
    strings, whose domain keeps its catalogue per request too."""
    from flask import session
    from flask_admin.babel import gettext as admin_gettext
    from flask_babel import force_locale, refresh
    from flask_babel import gettext as babel_gettext

    from circle.i18n import gettext, lazy_gettext

    lazy = lazy_gettext("Issue #%(id)d", id=7)

    def same():
        assert gettext("Overview") == babel_gettext("Overview")
        assert gettext("Issue #%(id)d", id=7) == babel_gettext("Issue #%(id)d", id=7)
        assert str(lazy) == babel_gettext("Issue #%(id)d", id=7)
        return gettext("Overview"), str(lazy), admin_gettext("Save")

    with app.test_request_context("/"):
        assert same() == ("概览", "诉求 #7", "保存")
        with force_locale("en"):
            assert same() == ("Overview", "Issue #7", "Save")
        assert same() == ("概览", "诉求 #7", "保存")
        session["lang"] = "en"
        refresh()
        assert same() == ("Overview", "Issue #7", "Save")
    with app.test_request_context("/"):
        assert same() == ("概览", "诉求 #7", "保存")
    with app.app_context():
        assert gettext("Overview") == babel_gettext("Overview")
    assert gettext("Overview") == "Overview" and str(lazy) == "Issue #7"


def test_the_app_translates_through_circle_i18n():
    """Every module imports gettext / lazy_gettext from circle.i18n (per-request catalogue),
    none Flask-Babel's own (~10x slower a call)."""
    import re
    from pathlib import Path

    import circle

    own = re.compile(r"^\s*from flask_babel import .*\b(lazy_gettext|gettext)\b", re.M)
    root = Path(circle.__file__).parent
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "i18n.py" and own.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
