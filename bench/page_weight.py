"""Benchmark: bytes a browser transfers on a first visit to the dashboard and to an audit
report (the HTML page, its scripts and its style sheets), and how long that takes.

Builds a throwaway SQLite database in a temporary folder, loads the demo (datasets,
lineage, finished audits, standards), collects the static files as production does
(whitenoise's compressed manifest storage), starts ``gunicorn`` on 127.0.0.1 with
``DEBUG=0``, signs in as the demo compliance officer and, for each page, fetches the
HTML and every same-origin ``<script src>`` and ``<link rel=stylesheet>`` it names
with an empty cache, as a browser does (``Accept-Encoding: gzip``), once on the freshly
started server (imports, first compression, chart figures built) and once more as the
measured visit. It prints each resource's bytes on the wire and its encoding, the
page's total, the wall time of those requests on the loopback connection, and the
time the same bytes would take at 50 Mbit/s. For reference it also prints what the same
visit weighed before this change: the page's HTML uncompressed and the full
``plotly.min.js`` of the plotly package, uncompressed, instead of the cartesian bundle.

    .venv/bin/python bench/page_weight.py
    .venv/bin/python bench/page_weight.py --json out.json
    .venv/bin/python bench/page_weight.py --compare out.json

Target: under 1 s of transfer for each first visit on a local connection.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from dashboard_load import (  # noqa: E402  (a sibling script, not a package)
    fetch,
    login,
    manage,
    server_environment,
    start_server,
    stop_server,
)

DEMO_OFFICER = "officer"
DEMO_PASSWORD = "synthgov-demo"  # noqa: S105  (printed by load_demo; demo only)
TARGET_SECONDS = 1.0
REFERENCE_MBITS = 50  # a modest office or home connection, for the "at … Mbit/s" column
BROWSER = {"Accept-Encoding": "gzip, deflate, br", "Accept": "text/html,*/*"}


def assets(page: bytes) -> list[str]:
    """Same-origin scripts and style sheets the page loads, in document order."""
    text = page.decode("utf-8", "replace")
    found = re.findall(r'<script[^>]+src="([^"]+)"', text)
    found += re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', text)
    found += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"', text)
    paths = []
    for url in found:
        url = html.unescape(url)
        if url.startswith("/") and not url.startswith("//") and url not in paths:
            paths.append(url)
    return paths


def visit(port: int, cookie: str, path: str) -> dict[str, Any]:
    """A first visit: the page and each asset on its own request, nothing cached."""
    resources = []
    started = time.perf_counter()
    seconds, status, message, page = fetch(port, path, {**BROWSER, "Cookie": cookie})
    if status != 200:
        raise SystemExit(f"{path}: HTTP {status}")
    resources.append(_resource(path, message, page, seconds))
    if message.get("Content-Encoding") == "gzip":
        page = gzip.decompress(page)
    resources[0]["decoded_bytes"] = len(page)
    for asset in assets(page):
        seconds, status, message, body = fetch(port, asset, {**BROWSER, "Cookie": cookie})
        if status != 200:
            raise SystemExit(f"{asset} (from {path}): HTTP {status}")
        resources.append(_resource(asset, message, body, seconds))
    wall = time.perf_counter() - started
    total = sum(r["bytes"] for r in resources)
    return {
        "path": path,
        "resources": resources,
        "bytes": total,
        "seconds": round(wall, 4),
        "seconds_at_reference": round(total * 8 / (REFERENCE_MBITS * 1e6), 3),
    }


def _resource(path: str, message: Any, body: bytes, seconds: float) -> dict[str, Any]:
    return {
        "path": path,
        "bytes": len(body),
        "encoding": message.get("Content-Encoding") or "identity",
        "cache": message.get("Cache-Control") or "",
        "seconds": round(seconds, 4),
    }


def full_plotly_bytes() -> int:
    from plotly.offline import get_plotlyjs

    return len(get_plotlyjs().encode("utf-8"))


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB"


def report(pages: dict[str, dict[str, Any]], before_plotly: int) -> None:
    for name, page in pages.items():
        print(f"\n== first visit: {name} ({page['path']}) ==")
        for r in page["resources"]:
            print(
                f"  {r['path'][:52]:<52} {_kb(r['bytes']):>9} {r['seconds'] * 1000:>6.0f} ms  "
                f"{r['encoding']:<8} {r['cache']}"
            )
        verdict = "under" if page["seconds"] < TARGET_SECONDS else "OVER"
        print(
            f"  total {_kb(page['bytes'])} in {page['seconds'] * 1000:.0f} ms on loopback "
            f"({verdict} the {TARGET_SECONDS:g} s target); "
            f"{page['seconds_at_reference'] * 1000:.0f} ms at {REFERENCE_MBITS} Mbit/s "
            f"(the server's very first request after start: "
            f"{page['cold_server_seconds'] * 1000:.0f} ms)"
        )
        plotly = next((r for r in page["resources"] if "plotly" in r["path"]), None)
        if plotly:
            html_page = page["resources"][0]
            before = (
                page["bytes"]
                - plotly["bytes"]
                + before_plotly
                - html_page["bytes"]
                + html_page["decoded_bytes"]
            )
            print(
                f"  before (HTML uncompressed, full plotly.min.js {_kb(before_plotly)} "
                "uncompressed): "
                f"{_kb(before)}; {before * 8 / (REFERENCE_MBITS * 1e6) * 1000:.0f} ms at "
                f"{REFERENCE_MBITS} Mbit/s"
            )


def compare(old: dict[str, Any], new: dict[str, Any]) -> None:
    print("\n== compared with the earlier run (bytes on the wire) ==")
    for name, page in new["pages"].items():
        before = old.get("pages", {}).get(name)
        if not before:
            print(f"  {name}: not in the earlier run")
            continue
        change = page["bytes"] - before["bytes"]
        print(
            f"  {name}: {_kb(before['bytes'])} -> {_kb(page['bytes'])} "
            f"({change / max(before['bytes'], 1):+.0%})"
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="synthgov-page-weight-"))
    env = server_environment(work, f"sqlite:///{work / 'bench.sqlite3'}")
    env["MEDIA_ROOT"] = str(work / "media")
    server = None
    try:
        print("migrating, loading the demo and collecting static files…", flush=True)
        # The demo signs certificates: with DEBUG on, a throwaway key is generated in
        # the temporary folder, and the server (DEBUG off) is pointed at it.
        manage({**env, "DEBUG": "1"}, "migrate", "--noinput")
        manage({**env, "DEBUG": "1"}, "load_demo")
        env["SYNTHGOV_SIGNING_KEYS_FILE"] = str(work / "signing-keys.pem")
        manage(env, "collectstatic", "--noinput")
        server, port = start_server(env, work, workers=1)
        cookie = login(port, DEMO_OFFICER, DEMO_PASSWORD)
        _, _, _, listing = fetch(port, "/audits/?status=succeeded", {"Cookie": cookie})
        audit = re.search(rb'href="(/audits/\d+/)"', listing)
        if audit is None:
            raise SystemExit("the demo holds no finished audit")
        # Warm the server (imports, the gzipped bundle, cached chart figures) as any
        # earlier visitor would have; each measured visit still starts with an empty
        # browser cache.
        paths = {"dashboard": "/", "audit report": audit.group(1).decode()}
        cold = {name: visit(port, cookie, path) for name, path in paths.items()}
        pages = {name: visit(port, cookie, path) for name, path in paths.items()}
        for name, page in pages.items():
            page["cold_server_seconds"] = cold[name]["seconds"]
    finally:
        if server is not None:
            stop_server(server)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return {"pages": pages, "before_plotly_bytes": full_plotly_bytes()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    parser.add_argument("--keep", action="store_true", help="leave the temporary folder")
    args = parser.parse_args(argv)
    result = run(args)
    report(result["pages"], result["before_plotly_bytes"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.compare:
        compare(json.loads(args.compare.read_text()), result)
    slow = [n for n, p in result["pages"].items() if p["seconds"] >= TARGET_SECONDS]
    if slow:
        raise SystemExit(f"over the {TARGET_SECONDS:g} s target: {', '.join(slow)}")


if __name__ == "__main__":
    main()
