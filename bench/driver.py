"""The load driver: signs in as real users over loopback HTTP and times what they do.

It runs as its own process (``python -m bench.driver < plan.json > result.json``), started
by :mod:`bench.run`, so that the client's work is never counted inside the server. Only the
standard library is used: ``http.client`` connections (one per simulated client, reused
while the server keeps them open) driven by threads. Every phase is bounded by a number of
requests and a wall-clock limit, so a slow or broken server cannot keep it running.

Phases (``plan["phase"]``):

``latency``   for each endpoint, ``clients`` signed-in clients share ``requests`` GETs after
              a warm-up; every answer must be a 200. Reports p50/p95 in milliseconds.
``register``  ``clients`` liaison officers POST the registration form (CSRF token from the
              page, as a browser would) until ``requests`` have been sent; a 302 to the
              issue desk is a registered issue. Reports requests per second.
``export``    one administrator downloads the satisfaction export to the end, counting
              bytes and lines without keeping them. Reports the time to the last byte.
``compare``   issue #19: each page requested from circle, stock Flask-Admin and the floor
              (bench/baseline.py) in turn by one client each, the order rotating every
              round, so that whatever else the machine does falls on all three alike.
              Reports p50/p95 of each and the ratios stock/circle and circle/floor.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import secrets
import sys
import threading
import time
from collections import Counter
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

USER_AGENT = "circle-bench/1"


# --- pure helpers (covered by tests/test_bench_smoke.py) ------------------------------------

def percentile(values, p: float) -> float | None:
    """The ``p``-th percentile (0–100) of ``values`` by linear interpolation between the
    closest ranks (numpy's default); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class _FormParser(HTMLParser):
    """Collects hidden inputs, select options and the filter data of an admin page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hidden: dict[str, str] = {}
        self.options: dict[str, list[dict]] = {}
        self.filter_data: str | None = None
        self._select: str | None = None
        self._in_filter_data = False
        self._filter_parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            # The first occurrence wins: it belongs to the page's main form.
            self.hidden.setdefault(attrs["name"], attrs.get("value") or "")
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self.options.setdefault(self._select, [])
        elif tag == "option" and self._select is not None:
            self.options[self._select].append(attrs)
        elif tag == "div" and attrs.get("id") == "filter-groups-data":
            self._in_filter_data = True

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "div" and self._in_filter_data:
            self._in_filter_data = False
            self.filter_data = "".join(self._filter_parts)

    def handle_data(self, data):
        if self._in_filter_data:
            self._filter_parts.append(data)


def parse_page(html: str) -> _FormParser:
    """Parse an HTML page for its hidden inputs, select options and filter data."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser


def csrf_token(html: str) -> str:
    """The ``csrf_token`` hidden input of the page's first form; ``ValueError`` if none."""
    token = parse_page(html).hidden.get("csrf_token")
    if not token:
        raise ValueError("no csrf_token input on the page")
    return token


#: The type of a filter that carries no options but a lookup (circle.adminfilters.LOOKUP_TYPE).
LOOKUP_TYPE = "circle-lookup"


def filter_query(filter_groups: dict, wanted: list[tuple[str, str]],
                 lookup=None) -> dict[str, str]:
    """Flask-Admin list filter arguments (``flt<pos>_<arg>=value``) for ``wanted``.

    ``filter_groups`` is the JSON the list page carries in ``#filter-groups-data`` (group
    label → filters, each with its ``arg``, ``operation`` and ``options``). A filter is
    identified by the option it must offer, not by its position or its (translated) label:
    each ``(value, label)`` in ``wanted`` picks the first dropdown filter that has an option
    with that value and, when ``label`` is not empty, that label. A filter that looks its
    rows up as they are typed (``type`` :data:`LOOKUP_TYPE`) offers what
    ``lookup(filter, label)`` answers (its ``(value, label)`` pairs for that text).
    """
    def offers(flt, value, label) -> bool:
        if flt.get("type") == LOOKUP_TYPE:
            pairs = lookup(flt, label) if lookup is not None else ()
        else:
            pairs = flt.get("options") or ()
        return any(str(key) == str(value) and (not label or text == label)
                   for key, text in pairs)

    query = {}
    for position, (value, label) in enumerate(wanted):
        for filters in filter_groups.values():
            match = next((flt for flt in filters if offers(flt, value, label)), None)
            if match is not None:
                query[f"flt{position}_{match['arg']}"] = str(value)
                break
        else:
            raise LookupError(f"no list filter offers the option {value!r} {label!r}")
    return query


# --- HTTP client -----------------------------------------------------------------------------

class Response:
    """What came back: status, headers, body (unless streamed) and the time taken."""

    def __init__(self, status, headers, body, seconds, size, lines=0, first_byte=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.seconds = seconds
        self.size = size
        self.lines = lines
        self.first_byte = first_byte

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """One browser: its own connection and cookie jar, following no redirects."""

    def __init__(self, base_url: str, timeout: float = 300):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _remember_cookies(self, headers) -> None:
        for header in headers.get_all("Set-Cookie") or ():
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method: str, path: str, form: dict | None = None,
                stream: bool = False) -> Response:
        """Send one request and read the whole answer; ``stream`` counts bytes and lines
        instead of keeping the body (for multi-gigabyte downloads)."""
        headers = {"User-Agent": USER_AGENT, "Accept-Language": "zh-CN"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed a kept-alive connection between two requests: retry once
                # on a new one (a browser does the same).
                self.close()
                if attempt == 2:
                    raise
                continue
            break
        first_byte = time.perf_counter() - started
        size = lines = 0
        if stream:
            while chunk := raw.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
            content = b""
        else:
            content = raw.read()
            size = len(content)
        seconds = time.perf_counter() - started
        self._remember_cookies(raw.msg)
        if raw.will_close:
            self.close()
        return Response(raw.status, raw.msg, content, seconds, size, lines, first_byte)

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict) -> Response:
        return self.request("POST", path, form=form)

    def login(self, username: str, password: str) -> None:
        """Sign in through the login form as a browser does; ``RuntimeError`` if refused."""
        page = self.get("/login")
        if page.status != 200:
            raise RuntimeError(f"GET /login answered {page.status}")
        answer = self.post("/login", {"csrf_token": csrf_token(page.text),
                                      "username": username, "password": password})
        location = answer.headers.get("Location", "")
        if answer.status != 302 or "/login" in location:
            raise RuntimeError(f"login as {username!r} failed ({answer.status})")


# --- phases ----------------------------------------------------------------------------------

def _signed_in(base: str, user: dict, count: int, timeout: float = 300) -> list[Client]:
    clients = []
    for _ in range(count):
        client = Client(base, timeout=timeout)
        client.login(user["username"], user["password"])
        clients.append(client)
    return clients


def _summary(samples: list[float], errors: Counter, started: float, finished: float,
             extra: dict | None = None) -> dict:
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms), "errors": sum(errors.values()), "error_kinds": dict(errors),
        "p50": percentile(ms, 50), "p95": percentile(ms, 95),
        "max": max(ms) if ms else None, "seconds": finished - started, **(extra or {}),
    }


def _run_threads(clients, work) -> None:
    threads = [threading.Thread(target=work, args=(client, number), daemon=True)
               for number, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure_endpoint(base: str, endpoint: dict, clients: int, warmup: int, requests: int,
                     max_seconds: float) -> dict:
    """GET ``endpoint["urls"]`` in turn from ``clients`` signed-in clients: ``warmup``
    requests each unrecorded, then ``requests`` in all (or until ``max_seconds``)."""
    users = _signed_in(base, endpoint["user"], clients)
    urls = endpoint["urls"]
    # Warm-up (templates compiled, caches filled) is bounded in time too: a page taking
    # seconds must not hold the run for minutes before the measurement starts.
    warm_until = time.perf_counter() + max_seconds / 3
    for client in users:
        for i in range(warmup):
            if time.perf_counter() > warm_until:
                break
            client.get(urls[i % len(urls)])
    samples, errors, lock = [], Counter(), threading.Lock()
    counter = itertools.count()
    started = time.perf_counter()
    deadline = started + max_seconds

    def work(client, _number):
        while time.perf_counter() < deadline:
            i = next(counter)
            if i >= requests:
                return
            url = urls[i % len(urls)]
            try:
                answer = client.get(url)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                client.close()
                continue
            with lock:
                if answer.status == 200:
                    samples.append(answer.seconds)
                else:
                    errors[str(answer.status)] += 1

    _run_threads(users, work)
    finished = time.perf_counter()
    for client in users:
        client.close()
    return _summary(samples, errors, started, finished,
                    {"url": urls[0], "urls": len(urls), "user": endpoint["user"]["username"],
                     "requested": requests})


def resolve_filters(base: str, endpoint: dict) -> list[str]:
    """Turn an endpoint's ``filters`` (wanted options) into list URLs by reading the list
    page's own filter data."""
    client = _signed_in(base, endpoint["user"], 1)[0]
    page = client.get(endpoint["list_url"])
    if page.status != 200:
        client.close()
        raise RuntimeError(f"GET {endpoint['list_url']} answered {page.status}")
    data = parse_page(page.text).filter_data
    if not data:
        client.close()
        raise RuntimeError("the issue list page carries no filter data")

    def lookup(flt, label):
        answer = client.get(flt["url"] + "&" + urlencode({"query": label, "limit": 50}))
        return json.loads(answer.text) if answer.status == 200 else ()

    try:
        query = filter_query(json.loads(data), [tuple(w) for w in endpoint["filters"]],
                             lookup)
    finally:
        client.close()
    return [endpoint["list_url"] + "?" + urlencode(query)]


def phase_latency(plan: dict) -> dict:
    results = {}
    for endpoint in plan["endpoints"]:
        if endpoint.get("filters"):
            endpoint = {**endpoint, "urls": resolve_filters(plan["base"], endpoint)}
        results[endpoint["name"]] = measure_endpoint(
            plan["base"], endpoint, plan["clients"], plan["warmup"], plan["requests"],
            plan["max_seconds"])
        print(f"  {endpoint['name']:<28} {_brief(results[endpoint['name']])}",
              file=sys.stderr, flush=True)
    return results


def _brief(result: dict) -> str:
    if not result["n"]:
        return f"no successful request, errors {result['error_kinds']}"
    return (f"p50 {result['p50']:.0f} ms  p95 {result['p95']:.0f} ms  n={result['n']}"
            + (f"  errors {result['error_kinds']}" if result["errors"] else ""))


def registration_form(page_html: str) -> dict:
    """The registration page's CSRF token and the category and source choices offered
    (sources marked ``hotline`` need a work-order number)."""
    parsed = parse_page(page_html)

    def choices(name):
        return [opt for opt in parsed.options.get(name, []) if opt.get("value")]

    return {
        "csrf_token": parsed.hidden.get("csrf_token"),
        "categories": [opt["value"] for opt in choices("category")],
        "sources": [(opt["value"], "data-hotline" in opt) for opt in choices("source")],
    }


def phase_register(plan: dict) -> dict:
    """Liaison officers register issues concurrently through the real form."""
    base, run_tag = plan["base"], plan["tag"]
    liaisons = plan["liaisons"]
    clients, forms = [], []
    for number in range(plan["clients"]):
        liaison = liaisons[number % len(liaisons)]
        client = _signed_in(base, liaison, 1)[0]
        page = client.get("/admin/register/")
        if page.status != 200:
            raise RuntimeError(f"GET /admin/register/ answered {page.status}")
        form = registration_form(page.text)
        if not (form["csrf_token"] and form["categories"] and form["sources"]):
            raise RuntimeError("the registration form lacks a token, categories or sources")
        clients.append(client)
        forms.append((form, liaison["merchants"]))
    samples, errors, lock = [], Counter(), threading.Lock()
    counter = itertools.count()
    ok = Counter()
    severities = ("small", "big", "hard")
    started = time.perf_counter()
    deadline = started + plan["max_seconds"]

    def work(client, number):
        form, merchants = forms[number]
        sent = 0
        while time.perf_counter() < deadline:
            i = next(counter)
            if i >= plan["requests"]:
                return
            source, _hotline = form["sources"][sent % len(form["sources"])]
            data = {
                "csrf_token": form["csrf_token"],
                "merchant": merchants[sent % len(merchants)],
                "severity": severities[sent % len(severities)],
                "category": form["categories"][sent % len(form["categories"])],
                "source": source,
                # Unique per request, so that every POST is a new work order.
                "work_order_no": f"B{run_tag}-{number}-{sent}",
                "description": f"基准测试登记 {run_tag}-{number}-{sent}：门店跳闸，冷柜断电",
                # The same merchant and category come round again: a liaison who is told
                # 可能重复 and registers anyway (a separate problem) — not a refusal.
                "register_anyway": "1",
                # The one-time key a freshly drawn form carries (new_registration_key): the
                # server checks it against earlier registrations, as it does a browser's.
                "registration_key": secrets.token_urlsafe(24),
            }
            sent += 1
            try:
                answer = client.post("/admin/register/", data)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                client.close()
                continue
            location = answer.headers.get("Location", "")
            if answer.status == 302 and "/admin/desk/" in location:
                # Shown the new issue's desk, as a browser is: the "registered" message is
                # read there (else every client's session cookie grows by one per POST).
                # Not part of the registration's own time.
                try:
                    shown = client.get(urlsplit(location)._replace(scheme="", netloc="")
                                       .geturl())
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors[f"desk {type(exc).__name__}"] += 1
                    client.close()
                    shown = None
                if shown is not None and shown.status != 200:
                    with lock:
                        errors[f"desk {shown.status}"] += 1
            with lock:
                if answer.status == 302 and "/admin/desk/" in location:
                    samples.append(answer.seconds)
                    ok["registered"] += 1
                elif answer.status == 200:
                    # The form came back: the server refused the input (a validation error).
                    errors["refused"] += 1
                else:
                    errors[str(answer.status)] += 1

    _run_threads(clients, work)
    finished = time.perf_counter()
    for client in clients:
        client.close()
    result = _summary(samples, errors, started, finished,
                      {"clients": len(clients), "registered": ok["registered"]})
    result["per_second"] = ok["registered"] / result["seconds"] if result["seconds"] else 0.0
    print(f"  registration: {result['registered']} in {result['seconds']:.1f} s = "
          f"{result['per_second']:.0f}/s, errors {result['error_kinds']}",
          file=sys.stderr, flush=True)
    return result


def phase_export(plan: dict) -> dict:
    """Download the satisfaction export once, to the last byte."""
    # An XLSX assembled before it is sent leaves the socket silent for minutes at 1M rows.
    client = _signed_in(plan["base"], plan["user"], 1, timeout=plan.get("timeout", 900))[0]
    query = urlencode({"download": "1", "format": plan["format"]})
    answer = client.get(f"/admin/satisfaction-export/?{query}", stream=True)
    client.close()
    content_type = answer.headers.get("Content-Type", "")
    ok = answer.status == 200 and "text/html" not in content_type
    return {
        "status": answer.status, "ok": ok, "seconds": answer.seconds,
        "first_byte": answer.first_byte, "bytes": answer.size,
        # CSV: one line per row plus the header (synthetic text has no line breaks).
        "rows": answer.lines - 1 if plan["format"] == "csv" else None,
        "content_type": content_type,
    }


#: The systems a comparison requests each page from, in the order of its first round.
SYSTEMS = ("circle", "stock", "floor")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or zero."""
    if not numerator or not denominator:
        return None
    return numerator / denominator


def compare_summary(samples: dict[str, list[float]], errors: Counter) -> dict:
    """p50/p95 (ms) of each system's samples (seconds) and the ratios of the p50s."""
    result = {"errors": sum(errors.values()), "error_kinds": dict(errors)}
    for system in SYSTEMS:
        ms = [value * 1000 for value in samples.get(system, ())]
        result[system] = {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95)}
    result["stock_over_circle"] = ratio(result["stock"]["p50"], result["circle"]["p50"])
    result["circle_over_floor"] = ratio(result["circle"]["p50"], result["floor"]["p50"])
    return result


def rotation(round_number: int) -> tuple[str, ...]:
    """The order of the systems in a round: each goes first, second and last in turn."""
    k = round_number % len(SYSTEMS)
    return SYSTEMS[k:] + SYSTEMS[:k]


def compare_page(clients: dict[str, Client], page: dict, rounds: int, warmup: int,
                 max_seconds: float) -> dict:
    """Request ``page["urls"][system]`` from each system in turn, ``rounds`` times."""
    for number in range(warmup):
        for system in SYSTEMS:
            urls = page["urls"][system]
            clients[system].get(urls[number % len(urls)])
    samples = {system: [] for system in SYSTEMS}
    errors = Counter()
    load_before = _load()
    deadline = time.perf_counter() + max_seconds
    for number in range(rounds):
        if time.perf_counter() > deadline:
            break
        for system in rotation(number):
            urls = page["urls"][system]
            try:
                answer = clients[system].get(urls[number % len(urls)])
            except (OSError, http.client.HTTPException) as exc:
                errors[f"{system} {type(exc).__name__}"] += 1
                clients[system].close()
                continue
            if answer.status == 200:
                samples[system].append(answer.seconds)
            else:
                errors[f"{system} {answer.status}"] += 1
    result = compare_summary(samples, errors)
    result.update(load=[load_before, _load()], requested=rounds,
                  url={system: page["urls"][system][0] for system in SYSTEMS})
    return result


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def phase_compare(plan: dict) -> dict:
    """Each page of ``plan["pages"]`` from the three systems, interleaved (see module)."""
    clients = {"circle": _signed_in(plan["bases"]["circle"], plan["user"], 1)[0],
               "stock": Client(plan["bases"]["stock"]),
               "floor": Client(plan["bases"]["floor"])}
    results = {}
    for page in plan["pages"]:
        if page.get("filters"):
            found = resolve_filters(plan["bases"]["circle"], {
                "user": plan["user"], "list_url": page["list_url"],
                "filters": page["filters"]})
            page = {**page, "urls": {**page["urls"], "circle": found}}
        result = compare_page(clients, page, plan["requests"], plan["warmup"],
                              plan["max_seconds"])
        results[page["name"]] = result
        print(f"  {page['name']:<22} " + "  ".join(
            f"{system} {result[system]['p50'] or 0:.0f}/{result[system]['p95'] or 0:.0f}"
            for system in SYSTEMS)
            + f"  stock/circle {result['stock_over_circle'] or 0:.2f}"
            + f"  circle/floor {result['circle_over_floor'] or 0:.2f}"
            + (f"  errors {result['error_kinds']}" if result["errors"] else ""),
            file=sys.stderr, flush=True)
    for client in clients.values():
        client.close()
    return results


PHASES = {"latency": phase_latency, "register": phase_register, "export": phase_export,
          "compare": phase_compare}


def main() -> None:
    plan = json.load(sys.stdin)
    json.dump(PHASES[plan["phase"]](plan), sys.stdout)


if __name__ == "__main__":
    main()
