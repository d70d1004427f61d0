"""The benchmark's targets and its Markdown report (pure functions of the results)."""

from __future__ import annotations

#: The pages timed, in the order of the table: key, label, p95 target in ms.
#: The targets are issue #6's, which apply at 1M issues on SQLite and PostgreSQL alike.
PAGES = (
    ("list_page1", "Issue list, page 1 — admin", 150),
    ("list_page1_specialist", "Issue list, page 1 — specialist", 150),
    ("list_filtered", "Issue list, circle + status filter — admin", 150),
    ("search_shop", "Issue search, shop name — admin", 150),
    ("search_work_order", "Issue search, work-order no. — admin", 150),
    ("list_page1000", "Issue list, page 1,000 — admin", 150),
    ("dispatch", "Dispatch board — specialist", 150),
    ("detail", "Issue desk (detail) — admin", 150),
    ("dashboard", "Dashboard — admin", 300),
    ("dashboard_specialist", "Dashboard — specialist", 300),
    ("callbacks", "Callback queue — staff", 150),
)
GROWTH_LIMIT = 1.5
REGISTER_PER_SECOND = 100
EXPORT_SECONDS = {"csv": 30, "xlsx": 120}
EXPORT_RSS_MB = 250

PASS, FAIL = "✓", "✗"


def size_label(size: int) -> str:
    """10000 → 10k, 1000000 → 1M."""
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def _mark(ok: bool) -> str:
    return PASS if ok else FAIL


def _ms(value) -> str:
    return "—" if value is None else f"{value:.0f}"


def page_cell(result: dict | None, target_ms: float) -> str:
    """``p50 / p95 ms`` with a mark against the p95 target; errors make it fail."""
    if not result:
        return "·"
    if not result["n"]:
        return f"no 200 ({result['errors']} err) {FAIL}"
    cell = f"{_ms(result['p50'])} / {_ms(result['p95'])}"
    if result["n"] < result.get("requested", 0):
        # The time limit cut the sample short.
        cell += f" (n={result['n']})"
    if result["errors"]:
        return cell + f" ({result['errors']} err) {FAIL}"
    return cell + " " + _mark(result["p95"] < target_ms)


def register_cell(result: dict | None) -> str:
    if not result:
        return "·"
    ok = (result["per_second"] >= REGISTER_PER_SECOND and not result["errors"]
          and result.get("lost") == 0)
    return (f"{result['per_second']:.0f}/s · {result['errors']} err · "
            f"{result.get('lost', '?')} lost {_mark(ok)}")


def export_cell(result: dict | None, file_format: str) -> str:
    if not result:
        return "·"
    if not result["ok"]:
        return f"failed ({result['status']}) {FAIL}"
    rss = result.get("peak_rss_mb")
    ok = result["seconds"] < EXPORT_SECONDS[file_format] and rss is not None \
        and rss < EXPORT_RSS_MB
    return f"{result['seconds']:.1f} s · {_ms(rss)} MB {_mark(ok)}"


def growth_cell(small: dict | None, large: dict | None) -> str:
    """p95 at the largest size over p95 at the smallest, marked against 1.5×."""
    if not small or not large or not small.get("p95") or large.get("p95") is None:
        return "·"
    ratio = large["p95"] / small["p95"]
    return f"×{ratio:.2f} {_mark(ratio <= GROWTH_LIMIT)}"


def render_table(runs: list[dict]) -> str:
    """The results table: a row per measurement, a column per (size, workers), then the
    p95 growth from the smallest to the largest size for each worker count."""
    sizes = sorted({run["size"] for run in runs})
    workers = sorted({run["workers"] for run in runs})
    by_key = {(run["size"], run["workers"]): run for run in runs}
    columns = [(size, w) for size in sizes for w in workers if (size, w) in by_key]
    growth = [w for w in workers if len(sizes) > 1
              and (sizes[0], w) in by_key and (sizes[-1], w) in by_key]
    header = ["measurement", "target"]
    header += [f"{size_label(size)} · {w}w" for size, w in columns]
    header += [f"p95 {size_label(sizes[-1])}/{size_label(sizes[0])} · {w}w" for w in growth]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def row(label, target, cells, growth_cells=()):
        lines.append("| " + " | ".join([label, target, *cells, *growth_cells]) + " |")

    for key, label, target in PAGES:
        if not any(key in by_key[c].get("latency", {}) for c in columns):
            continue
        cells = [page_cell(by_key[c].get("latency", {}).get(key), target) for c in columns]
        growth_cells = [growth_cell(by_key[(sizes[0], w)].get("latency", {}).get(key),
                                    by_key[(sizes[-1], w)].get("latency", {}).get(key))
                        for w in growth]
        row(label + " (p50 / p95 ms)", f"p95 < {target}", cells, growth_cells)
    filler = ["" for _ in growth]
    if any(by_key[c].get("register") for c in columns):
        row("Registration POST, 8 clients", f"≥ {REGISTER_PER_SECOND}/s, 0 err, 0 lost",
            [register_cell(by_key[c].get("register")) for c in columns], filler)
    for file_format in ("csv", "xlsx"):
        if any((by_key[c].get("export") or {}).get(file_format) for c in columns):
            row(f"{file_format.upper()} export, all rows (time · worker peak RSS)",
                f"< {EXPORT_SECONDS[file_format]} s, < {EXPORT_RSS_MB} MB",
                [export_cell((by_key[c].get("export") or {}).get(file_format), file_format)
                 for c in columns], filler)
    return "\n".join(lines)


def render_details(runs: list[dict]) -> str:
    """What exactly was requested, by whom, how often; registration and export figures."""
    lines = []
    first = min(runs, key=lambda run: (run["size"], run["workers"]))
    if first.get("latency"):
        lines += ["| page | user | URL (first of n) | requests | errors |",
                  "|---|---|---|---|---|"]
        for key, label, _target in PAGES:
            result = first["latency"].get(key)
            if result:
                lines.append(f"| {label} | {result['user']} | `{result['url']}` "
                             f"({result['urls']}) | {result['n']} | {result['errors']} |")
        lines.append("")
        lines.append(f"(URLs at {size_label(first['size'])}; other sizes differ only in ids, "
                     "search terms and the clamped page number.)")
        lines.append("")
    for run in sorted(runs, key=lambda run: (run["size"], run["workers"])):
        where = f"{size_label(run['size'])} · {run['workers']}w"
        reg = run.get("register")
        if reg:
            lines.append(
                f"- {where}: registration {reg['registered']} issues in {reg['seconds']:.1f} s "
                f"by {reg['clients']} liaison clients (POST p50 {_ms(reg['p50'])} ms, "
                f"p95 {_ms(reg['p95'])} ms); issues in the database "
                f"{reg['rows_before']:,} → {reg['rows_after']:,}; errors {reg['error_kinds']}")
        for file_format, result in sorted((run.get("export") or {}).items()):
            rows = f"{result['rows']:,} rows, " if result.get("rows") is not None else ""
            lines.append(
                f"- {where}: {file_format.upper()} export {rows}{result['bytes'] / 1e6:.1f} MB "
                f"in {result['seconds']:.1f} s (first byte {result['first_byte']:.2f} s); worker "
                f"peak RSS {_ms(result.get('peak_rss_mb'))} MB (idle worker "
                f"{_ms(result.get('idle_rss_mb'))} MB)")
    return "\n".join(lines)


def render_machine(meta: dict) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in meta.items())


def render_report(title: str, meta: dict, runs: list[dict], command: str) -> str:
    """The whole Markdown section for one run of the harness."""
    return "\n\n".join([
        f"## {title}",
        f"Command: `{command}`",
        render_machine(meta),
        render_table(runs),
        f"{PASS}/{FAIL} against issue #6's targets, which apply at 1M issues (smaller sizes "
        "are marked against the same thresholds). Latency cells are p50 / p95 in ms.",
        render_details(runs),
    ]) + "\n"


# --- issue #19: circle beside stock Flask-Admin and the floor ------------------------------

#: The pages compared, in the order of issue #19's table: key, label.
COMPARE_PAGES = (
    ("list_page1", "Issue list, page 1"),
    ("list_page1000", "Issue list, page 1,000 (same rows)"),
    ("search_shop", "Issue search, shop name"),
    ("search_work_order", "Issue search, work-order no."),
    ("list_filtered", "Issue list, circle + status filter"),
    ("detail", "Issue details / desk"),
    ("merchant_list", "Merchant list, page 1"),
    ("merchant_list_same", "Merchant list, page 1 (stock with circle's columns)"),
)
#: Issue #19's targets: circle at least this much faster than stock (p50 over p50) …
STOCK_RATIO_TARGET = 1.5
#: … and its p50 within this factor of the floor's.
FLOOR_RATIO_TARGET = 2.5


def ratio_cell(value: float | None, ok: bool | None) -> str:
    if value is None:
        return "·"
    return f"{value:.2f} {_mark(ok)}"


def render_compare_table(runs: list[dict]) -> str:
    """Per page and size: stock p50 / circle p50 (> 1: circle faster) and circle p50 /
    floor p50 (how far circle is from what any stack pays), marked against the targets."""
    runs = sorted(runs, key=lambda run: run["size"])
    header = ["page"]
    for run in runs:
        label = size_label(run["size"])
        header += [f"stock/circle {label}", f"circle/floor {label}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, label in COMPARE_PAGES:
        cells = [label]
        for run in runs:
            page = run["pages"].get(key)
            if not page or page["errors"]:
                errors = f"({page['errors']} err) {FAIL}" if page else "·"
                cells += [errors, errors]
                continue
            stock, floor = page["stock_over_circle"], page["circle_over_floor"]
            cells.append(ratio_cell(stock, stock is not None and stock >= STOCK_RATIO_TARGET))
            cells.append(ratio_cell(floor, floor is not None and floor <= FLOOR_RATIO_TARGET))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_compare_details(runs: list[dict]) -> str:
    """p50 / p95 in ms of each system, the sample size and the load average around it."""
    lines = ["| page | size | circle p50 / p95 | stock p50 / p95 | floor p50 / p95 | n | "
             "load avg |", "|---|---|---|---|---|---|---|"]
    for run in sorted(runs, key=lambda run: run["size"]):
        for key, label in COMPARE_PAGES:
            page = run["pages"].get(key)
            if not page:
                continue
            cells = [f"{_ms(page[s]['p50'])} / {_ms(page[s]['p95'])}"
                     for s in ("circle", "stock", "floor")]
            n = min(page[s]["n"] for s in ("circle", "stock", "floor"))
            load = "–".join(f"{v:.1f}" for v in page.get("load", ()) if v is not None)
            lines.append(f"| {label} | {size_label(run['size'])} | " + " | ".join(cells)
                         + f" | {n} | {load} |")
    urls = []
    first = min(runs, key=lambda run: run["size"]) if runs else None
    for key, label in COMPARE_PAGES:
        page = (first or {}).get("pages", {}).get(key)
        if page and page.get("url"):
            urls.append(f"- {label}: " + ", ".join(
                f"{s} `{page['url'][s]}`" for s in ("circle", "stock", "floor")))
    return "\n".join(lines + [""] + urls)


def render_compare(title: str, meta: dict, runs: list[dict], command: str) -> str:
    """The Markdown section of one ``--compare`` run."""
    return "\n\n".join([
        f"## {title} — circle vs stock Flask-Admin vs floor",
        f"Command: `{command}`",
        render_machine(meta),
        render_compare_table(runs),
        f"Ratios of p50s of interleaved requests (one client per system). stock/circle "
        f"{PASS} at ≥ {STOCK_RATIO_TARGET} (circle faster); circle/floor {PASS} at ≤ "
        f"{FLOOR_RATIO_TARGET}.",
        render_compare_details(runs),
    ]) + "\n"
