"""The admin menu, rendered once per role, language and page rather than on every request.

Flask-Admin draws the menu by asking each of thirty views whether the user may open it and
see it, on every page: a fifth of an empty list page's time (issue #19). What it asks is
declared, not computed from data: a view's ``is_accessible`` is the permission table's
answer for the user's role (:class:`circle.adminkit.AccessMixin`, every admin view), and
``is_visible`` is either that or a constant. So the menu's HTML is a function of the
signed-in user's role (and whether they are signed in and active), the language, and the
page it is drawn on (its active entry) — the key of the cache below. A view whose menu
entry depended on anything else (a per-user flag, data) would have to join the key.

The cache lives on the ``Admin`` instance, in each process, and holds at most roles ×
languages × pages entries: derived, never written by a request, identical in every worker.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup


def menu_key(admin_view) -> tuple:
    """What the menu drawn on ``admin_view``'s page depends on (see the module)."""
    user = current_user._get_current_object()
    role = user.role if getattr(user, "is_authenticated", False) and getattr(
        user, "active", False) else None
    return role, str(get_locale()), admin_view.endpoint


def cached_menu(admin_view, render) -> Markup:
    """The menu for this page: ``render()`` (Flask-Admin's ``layout.menu`` macro) the first
    time for its key, the stored HTML afterwards."""
    cache = admin_view.admin.__dict__.setdefault("_circle_menu_cache", {})
    key = menu_key(admin_view)
    html = cache.get(key)
    if html is None:
        html = cache[key] = Markup(render())
    return html
