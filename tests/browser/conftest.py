"""Real-browser fixtures: the app on a real server on a free loopback port, Debian's Chromium
driven by Playwright, a fresh demo database per test, screenshots of every step.

Locally, without Chromium, these tests skip and say how to install it; in CI (``CI=true``) a
missing browser is a failure. Screenshots go to ``tests/artifacts/screenshots/`` (git-ignored;
CI keeps them as artefacts).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from circle.extensions import db
from tests.conftest import _reset_schema, make_app

CHROMIUM = os.environ.get("CIRCLE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
INSTALL_HINT = "apt-get install -y chromium fonts-noto-cjk"
# Flags for a sandboxed, offline CI machine: no first-run work, no background networking.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
PASSWORD = "circle-demo-2024"


def _browser_available() -> bool:
    return bool(shutil.which(CHROMIUM) or Path(CHROMIUM).exists())


@pytest.fixture(scope="session")
def chromium():
    if not _browser_available():
        message = f"Chromium not found at {CHROMIUM}; install it with: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path):
    """The app with the demo data, served by a real threaded WSGI server."""
    from circle.demo import seed_demo

    app = make_app(tmp_path, CIRCLE_LOGIN_LIMIT_PER_IP="1000 per minute",
                   CIRCLE_LOGIN_LIMIT_PER_ACCOUNT="1000 per minute")
    _reset_schema(app)
    with app.app_context():
        seed_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class Session:
    """One person's browser tab, checking every page for console errors and failed assets."""

    def __init__(self, page, base_url: str, folder: Path):
        self.page, self.base_url, self.folder = page, base_url, folder
        self.problems: list[str] = []
        self.steps = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _response(self, response):
        # Documents may legitimately answer 403/404 (denial pages); assets must not fail.
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} {response.url}")

    def _failed(self, request):
        if request.resource_type != "document":
            self.problems.append(f"failed: {request.url} {request.failure}")

    def goto(self, path: str, expect_status: int | None = None):
        """Open a page and check it; ``expect_status`` for pages that refuse (403/404):
        Chromium logs the refused document itself as a console error, which is expected."""
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("networkidle")
        if expect_status is not None:
            assert response.status == expect_status, (path, response.status)
            self.problems = [p for p in self.problems if not (
                p.startswith("console: Failed to load resource") and str(expect_status) in p)]
        self.assert_clean(path)
        return response

    def assert_clean(self, where: str = "") -> None:
        problems, self.problems = self.problems, []
        assert problems == [], f"{where}: {problems}"

    def shot(self, name: str) -> None:
        self.steps += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.folder / f"{self.steps:02d}-{name}.png"),
                             full_page=True)

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")
        assert "/login" not in self.page.url, f"login failed for {username}"
        self.assert_clean("after login")

    def no_horizontal_scroll(self) -> None:
        width = self.page.viewport_size["width"]
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"page is {scroll}px wide on a {width}px screen"


@pytest.fixture
def open_session(chromium, live_server, request):
    """Open a browser session for a user: ``open_session(viewport=(390, 844))``."""
    _app, base_url = live_server
    contexts = []
    test_name = re.sub(r"[^\w.-]", "_", request.node.name)
    shutil.rmtree(ARTIFACTS / test_name, ignore_errors=True)  # this run's steps only

    def _open(label: str = "user", viewport=(1366, 900)):
        context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                       locale="zh-CN", accept_downloads=True)
        contexts.append((label, context))
        page = context.new_page()
        page.set_default_timeout(15000)
        return Session(page, base_url, ARTIFACTS / test_name / label)

    yield _open
    failed = getattr(request.node, "report_call", None)
    for label, context in contexts:
        if failed is not None and failed.failed:
            folder = ARTIFACTS / test_name / label
            folder.mkdir(parents=True, exist_ok=True)
            for n, page in enumerate(context.pages):
                page.screenshot(path=str(folder / f"failure-{n}.png"), full_page=True)
        context.close()
