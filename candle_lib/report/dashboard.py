"""``candle serve RESULTS``: a local web page that shows a study's progress and refreshes itself
while the study runs (CANDLE's "dashboard reporting progress").

The page is one self-contained HTML document (its CSS and JavaScript inline; nothing is fetched
from the internet): counts of trials done/running/failed/pending, the best so far, the rate and
the time left, the optimization history (an inline SVG drawn by the page), and a table of the
trials that sorts by any column (click a header; click again to reverse). Every ``--refresh``
seconds the page fetches ``api/status`` (the JSON of :func:`candle_lib.report.progress.summarize_study`)
and redraws, keeping the chosen sort order. Standard library only (http.server).

It answers only requests addressed to it by name: the Host header must be localhost, 127.0.0.1,
[::1], the address it listens on, or a name given with ``--allow-host``, with its port. A page
from elsewhere that has a name of its own resolve to 127.0.0.1 (DNS rebinding) sends its own
name as the Host, and gets 421 Misdirected Request instead of the study.
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from candle_lib.report.status import Study, add_study_options

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>CANDLE study: __ROOT__</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .3em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:.8em 0}
.card{border:1px solid #ccc;border-radius:6px;padding:.5em .9em;min-width:7em}
.card b{display:block;font-size:1.4em}
.muted{color:#777;font-size:.9em}
table{border-collapse:collapse;font-size:.9em;margin-top:.5em}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left;white-space:nowrap}
th{cursor:pointer;background:#f3f3f3;user-select:none}
th.sorted-asc::after{content:" \25B2"} th.sorted-desc::after{content:" \25BC"}
tr.failed td{color:#b00} tr.running td,tr.stalled td{color:#06c}
svg text{font-size:11px;fill:#444}
</style></head>
<body>
<h1>Study <code id="root"></code></h1>
<div class="muted">objective <span id="objective"></span> &middot; updated <span id="updated"></span>
 &middot; refreshes every __REFRESH__ s</div>
<div class="cards">
 <div class="card">done <b><span id="done"></span> / <span id="total"></span></b></div>
 <div class="card">ok <b id="ok"></b></div>
 <div class="card">failed <b id="failed"></b></div>
 <div class="card">running <b id="running"></b></div>
 <div class="card">stalled <b id="stalled"></b></div>
 <div class="card">pending <b id="pending"></b></div>
 <div class="card">best so far <b id="best-value"></b><span class="muted" id="best-trial"></span></div>
 <div class="card">rate <b id="rate"></b><span class="muted">trials/h</span></div>
 <div class="card">time left <b id="eta"></b></div>
</div>
<h2>Optimization history</h2>
<div id="history"></div>
<h2>Trials</h2>
<div class="muted">click a column header to sort by it; click again to reverse</div>
<table id="trials"><thead><tr></tr></thead><tbody></tbody></table>
<script id="initial" type="application/json">__SUMMARY__</script>
<script>
"use strict";
const REFRESH_MS = __REFRESH__ * 1000;
let summary = JSON.parse(document.getElementById("initial").textContent);
let sortKey = null, sortDir = 1;

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
function duration(s) {
  if (s === null || s === undefined) return "unknown";
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return (s / 60).toFixed(1) + " min";
  if (s < 86400) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " d";
}
function setText(id, text) { document.getElementById(id).textContent = text; }

function columns() {
  const cols = [["trial_id", "trial"], ["state", "state"], ["role", "role"], ["objective", summary.objective.metric],
                ["wall_seconds", "seconds"], ["epochs", "epochs"]];
  for (const name of summary.varied) cols.push(["param:" + name, name]);
  cols.push(["failure_reason", "failure reason"]);
  return cols;
}
function cell(t, key) {
  if (key.startsWith("param:")) return t.params[key.slice(6)];
  if (key === "epochs") return t.epochs_run !== null ? t.epochs_run : t.epoch;
  return t[key];
}
function compare(a, b) {
  // numbers numerically, everything else as text; empty cells last in either direction
  const ea = a === null || a === undefined || a === "", eb = b === null || b === undefined || b === "";
  if (ea || eb) return ea && eb ? 0 : (ea ? 1 : -1);
  if (typeof a === "number" && typeof b === "number") return sortDir * (a - b);
  return sortDir * fmt(a).localeCompare(fmt(b), undefined, {numeric: true});
}
function sortBy(key) {
  if (sortKey === key) sortDir = -sortDir; else { sortKey = key; sortDir = 1; }
  renderTable();
}
function renderTable() {
  const cols = columns();
  const head = document.querySelector("#trials thead tr");
  head.replaceChildren();
  for (const [key, label] of cols) {
    const th = document.createElement("th");
    th.textContent = label;
    th.dataset.key = key;
    if (key === sortKey) th.className = sortDir > 0 ? "sorted-asc" : "sorted-desc";
    th.addEventListener("click", () => sortBy(key));
    head.appendChild(th);
  }
  let rows = summary.trials.map((t, i) => [t, i]);
  if (sortKey !== null) rows.sort((x, y) => compare(cell(x[0], sortKey), cell(y[0], sortKey)) || x[1] - y[1]);
  const body = document.querySelector("#trials tbody");
  body.replaceChildren();
  for (const [t] of rows) {
    const tr = document.createElement("tr");
    tr.className = t.state;
    tr.dataset.trial = t.trial_id;
    for (const [key] of cols) {
      const td = document.createElement("td");
      td.textContent = fmt(cell(t, key));
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

const SVG = "http://www.w3.org/2000/svg";
function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const k in attrs) node.setAttribute(k, attrs[k]);
  if (text !== undefined) node.textContent = text;
  return node;
}
function renderHistory() {
  const W = 640, H = 260, L = 60, R = 15, T = 10, B = 35;
  const svg = el("svg", {width: W, height: H, id: "history-plot", role: "img"});
  const hist = summary.history, values = hist.filter(h => h.objective !== null).map(h => h.objective);
  svg.appendChild(el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#999"}));
  svg.appendChild(el("text", {x: L + (W - L - R) / 2, y: H - 5, "text-anchor": "middle"}, "completed trial"));
  svg.appendChild(el("text", {x: 12, y: T + (H - T - B) / 2, transform: `rotate(-90 12 ${T + (H - T - B) / 2})`,
                              "text-anchor": "middle"}, summary.objective.metric));
  if (values.length) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    const n = Math.max(hist.length, 2);
    const x = i => L + (i - 1) / (n - 1) * (W - L - R - 10) + 5;
    const y = v => T + 5 + (hi - v) / (hi - lo) * (H - T - B - 10);
    for (let k = 0; k <= 4; k++) {
      const v = lo + (hi - lo) * k / 4;
      svg.appendChild(el("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end"}, v.toPrecision(3)));
    }
    for (const i of [1, hist.length]) svg.appendChild(el("text", {x: x(i), y: H - B + 14, "text-anchor": "middle"}, String(i)));
    let path = "";
    for (const h of hist) {
      if (h.best === null) continue;
      path += (path ? ` H${x(h.n)} V${y(h.best)}` : `M${x(h.n)} ${y(h.best)}`);
    }
    if (path) svg.appendChild(el("path", {d: path, fill: "none", stroke: "#c33", "stroke-width": 2, class: "best-line"}));
    for (const h of hist) {
      if (h.objective !== null) {
        const dot = el("circle", {cx: x(h.n), cy: y(h.objective), r: 4, fill: "#36c", class: "trial-point"});
        dot.appendChild(el("title", {}, `${h.trial_id}: ${fmt(h.objective)}`));
        svg.appendChild(dot);
      } else {
        svg.appendChild(el("text", {x: x(h.n), y: T + 14, "text-anchor": "middle", fill: "#b00", class: "failed-point"}, "\u00d7"));
      }
    }
    svg.appendChild(el("text", {x: W - R - 5, y: T + 14, "text-anchor": "end"}, "\u25cf trial  \u2014 best so far  \u00d7 failed"));
  } else {
    svg.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no trial finished yet"));
  }
  document.getElementById("history").replaceChildren(svg);
}

function render() {
  const c = summary.counts;
  setText("root", summary.root);
  setText("objective", `${summary.objective.metric} (${summary.objective.direction})`);
  setText("updated", new Date(summary.generated * 1000).toLocaleTimeString());
  for (const key of ["done", "ok", "failed", "running", "stalled"]) setText(key, String(c[key]));
  setText("total", c.total === null ? "?" : String(c.total));
  setText("pending", c.pending === null ? "?" : String(c.pending));
  setText("best-value", summary.best ? fmt(summary.best.value) : "none");
  setText("best-trial", summary.best ? " trial " + summary.best.trial_id : "");
  setText("rate", summary.rate_per_hour ? summary.rate_per_hour.toFixed(1) : "-");
  setText("eta", c.total !== null && c.done === c.total ? "done" : duration(summary.eta_seconds));
  renderHistory();
  renderTable();
}

async function refresh() {
  try {
    const response = await fetch("api/status", {cache: "no-store"});
    if (response.ok) { summary = await response.json(); render(); }
  } catch (error) { setText("updated", "(server unreachable, retrying)"); }
}
render();
setInterval(refresh, REFRESH_MS);
</script>
</body></html>
"""


def render_page(summary: dict, refresh_seconds: float) -> str:
    """The dashboard's HTML with ``summary`` embedded for the first paint."""
    embedded = json.dumps(summary).replace("</", "<\\/")
    root = summary["root"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        PAGE.replace("__SUMMARY__", embedded).replace("__REFRESH__", f"{refresh_seconds:g}").replace("__ROOT__", root)
    )


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(bind_host: str, port: int, extra: tuple[str, ...] = ()) -> set[str]:
    """The Host header values the dashboard answers: the loopback names, the address it listens
    on (unless a wildcard) and ``extra`` names, each with ``port`` (and alone on port 80)."""
    names = set(LOOPBACK_NAMES) | {name.lower() for name in extra}
    if bind_host not in ("", "0.0.0.0", "::"):
        names.add(f"[{bind_host}]" if ":" in bind_host else bind_host.lower())
    hosts = {f"{name}:{port}" for name in names}
    return hosts | names if port == 80 else hosts


def make_server(
    study: Study,
    host: str = "127.0.0.1",
    port: int = 8765,
    refresh_seconds: float = 5.0,
    allow_hosts: tuple[str, ...] = (),
) -> ThreadingHTTPServer:
    """An HTTP server for the dashboard of ``study`` (not yet serving: call serve_forever). It
    refuses a request whose Host header is not one of :func:`allowed_hosts` (421)."""
    accepted: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def _refuse_host(self) -> bool:
            given = (self.headers.get("Host") or "").strip().lower()
            if given in accepted:
                return False
            body = (
                f"421 Misdirected Request: this dashboard answers only to {', '.join(sorted(accepted))} "
                f"(Host was {given!r}); add a name with --allow-host\n"
            ).encode()
            self.send_response(HTTPStatus.MISDIRECTED_REQUEST)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True

        def _send(self, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server's name)
            if self._refuse_host():
                return
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                self._send(render_page(study.summary(), refresh_seconds), "text/html")
            elif path == "/api/status":
                self._send(json.dumps(study.summary()), "application/json")
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    accepted.update(allowed_hosts(host, server.server_address[1], allow_hosts))  # the port --port 0 got
    return server


def add_serve_parser(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a live web page of a study's progress (refreshes while it runs)",
        description="Serve a local web page with the study's progress (the same as 'candle status'), the optimization history "
        "and a sortable table of the trials; the page refreshes itself every --refresh seconds. Nothing is fetched from the "
        "internet. Stop with Ctrl-C.",
    )
    add_study_options(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to NAME (the Host header; e.g. this machine's name with --host 0.0.0.0); "
        "by default only localhost, 127.0.0.1, [::1] and the --host address are answered",
    )
    serve.add_argument(
        "--refresh", type=float, default=5.0, metavar="SECONDS", help="how often the page refreshes (default: 5)"
    )
    serve.set_defaults(run=serve_command)


def serve_command(args) -> int:
    study = Study(args)
    server = make_server(study, args.host, args.port, args.refresh, tuple(args.allow_host))
    host, port = server.server_address[:2]
    print(f"serving the progress of {study.root} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
