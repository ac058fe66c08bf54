"""End to end: a tiny study runs under Snakemake in the background, `candle serve` serves its
progress page, and a real headless Chromium (Debian's chromium package, installed by
.ci/install-chromium.sh) loads the page once and watches it refresh itself until the study is
done; then real mouse clicks on column headers sort the table.

The browser is driven through the Chrome DevTools Protocol over a WebSocket, with a minimal
client written here on the standard library (no selenium or chromedriver to pin).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, snakemake_command, tiny_config, write_config

pytestmark = pytest.mark.workflow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """A headless Chromium and one page, driven through the DevTools Protocol."""

    def __init__(self, profile: Path):
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1300,1000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        port_file = profile / "DevToolsActivePort"  # written by Chromium once it listens
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"chromium did not start: {self.process.stderr.read()[-2000:] if self.process.poll() is not None else 'timeout'}"
                )
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        path = page["webSocketDebuggerUrl"].split(f":{port}", 1)[1]
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        header = b""
        while b"\r\n\r\n" not in header:
            header += self.sock.recv(1)
        assert header.startswith(b"HTTP/1.1 101"), header
        self.next_id = 0

    def _send_frame(self, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x81])  # final frame, text
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("devtools connection closed")
            data += chunk
        return data

    def _receive(self) -> dict:
        message = b""
        while True:
            first, second = self._exactly(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exactly(8))[0]
            message += self._exactly(n)
            if first & 0x80:
                return json.loads(message)

    def call(self, method: str, **params):
        self.next_id += 1
        self._send_frame(json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector_js: str) -> None:
        """A real left click (mouse events through the input pipeline) at an element's centre."""
        x, y = self.evaluate(
            f"(() => {{ const e = {selector_js}; e.scrollIntoView(); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=x,
                y=y,
                button="left" if kind != "mouseMoved" else "none",
                clickCount=1,
            )

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)


def _text(browser, element_id):
    return browser.evaluate(f"document.getElementById({element_id!r}).textContent")


def _rows(browser):
    return browser.evaluate("[...document.querySelectorAll('#trials tbody tr')].map(tr => tr.dataset.trial)")


def _header(label):
    return f"[...document.querySelectorAll('#trials th')].find(th => th.textContent === {label!r})"


@pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium: run .ci/install-chromium.sh (root and apt-get), as `make test` does"
)
def test_live_page_follows_a_running_study_and_sorts(tmp_path):
    workdir = tmp_path / "study"
    workdir.mkdir()
    # 4 trials: two learning rates x two time limits; the 1 microsecond limit fails its trials
    # ("timeout: ...") on the first batch, so the page has failed trials with reasons too
    config = write_config(
        workdir / "config.yaml",
        tiny_config(hpo={"space": {"learning_rate": [0.001, 0.01], "timeout": [600.0, 1.0e-6]}}),
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    study_log = open(tmp_path / "snakemake.log", "w")
    study = subprocess.Popen(
        snakemake_command(workdir, config, "hpo"),
        stdout=study_log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = browser = None
    try:
        deadline = time.monotonic() + 120
        while not (workdir / "results").is_dir():
            assert study.poll() is None, (tmp_path / "snakemake.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the study never started"
            time.sleep(0.2)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "candle_lib",
                "serve",
                "results",
                "--config",
                "config.yaml",
                "--port",
                "0",
                "--refresh",
                "0.5",
            ],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env, PYTHONPATH=str(REPO)),
        )
        banner = server.stdout.readline()
        assert banner.startswith("serving the progress of results at http://127.0.0.1:"), banner + server.stderr.read()
        url = banner.split(" at ", 1)[1].split()[0]

        browser = DevTools(tmp_path / "chromium-profile")
        browser.call("Page.navigate", url=url)
        while browser.evaluate("document.readyState") != "complete" or not _text(browser, "total"):
            time.sleep(0.1)
        assert _text(browser, "total") == "4"  # the planned trials of the config's grid
        first_done = int(_text(browser, "done"))

        # watch the same page load (no reload) until the study ends: it refreshes itself
        seen_done, seen_running = [first_done], []
        while study.poll() is None:
            assert time.monotonic() < deadline + 240, "the study took too long"
            seen_done.append(int(_text(browser, "done")))
            seen_running.append(int(_text(browser, "running")))
            time.sleep(0.3)
        assert study.returncode == 0, (tmp_path / "snakemake.log").read_text()[-4000:]
        time.sleep(1.5)  # three refresh periods
        final_done = int(_text(browser, "done"))
        assert first_done < 4 and final_done == 4, seen_done
        assert seen_done == sorted(seen_done)  # counts only grow
        assert max(seen_running) >= 1  # trials were seen running while the study ran

        # what the page shows against what the trial directories and the workflow's own
        # aggregate say
        trials = {
            d.name: json.loads((d / "metrics.json").read_text()) for d in (workdir / "results" / "trials").iterdir()
        }
        assert len(trials) == 4
        ok = {tid: m["metrics"]["val_loss"] for tid, m in trials.items() if m["status"] == "ok"}
        failed = {tid: m["failure_reason"] for tid, m in trials.items() if m["status"] == "failed"}
        assert len(ok) == 2 and len(failed) == 2 and all(r.startswith("timeout:") for r in failed.values())
        best_id = min(ok, key=ok.get)
        assert best_id == json.loads((workdir / "results" / "hpo" / "best.json").read_text())["trial_id"]
        assert (
            _text(browser, "ok"),
            _text(browser, "failed"),
            _text(browser, "running"),
            _text(browser, "pending"),
        ) == ("2", "2", "0", "0")
        assert _text(browser, "best-trial") == f" trial {best_id}"
        assert float(_text(browser, "best-value")) == pytest.approx(ok[best_id], rel=1e-3)
        assert _text(browser, "eta") == "done"
        assert browser.evaluate("document.querySelectorAll('#history-plot circle.trial-point').length") == 2
        assert browser.evaluate("document.querySelectorAll('#history-plot .failed-point').length") == 2
        reasons = browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#trials tbody tr.failed')].map(tr => [tr.dataset.trial, tr.lastChild.textContent]))"
        )
        assert reasons == failed

        # sorting by clicking headers, the page's own JavaScript doing it
        default_order = _rows(browser)
        assert sorted(default_order) == sorted(trials)
        by_loss = sorted(ok, key=ok.get)
        browser.click(_header("val_loss"))
        ascending = _rows(browser)
        assert ascending[:2] == by_loss and set(ascending[2:]) == set(failed)  # empty cells last
        browser.click(_header("val_loss"))
        descending = _rows(browser)
        assert descending[:2] == by_loss[::-1] and set(descending[2:]) == set(failed)
        assert browser.evaluate(f"{_header('val_loss')}.className") == "sorted-desc"
        browser.click(_header("trial"))
        assert _rows(browser) == sorted(trials)
        time.sleep(1.5)  # the sort order survives the page's refreshes
        assert _rows(browser) == sorted(trials)
        assert ascending != descending

        # the status command says the same
        status = subprocess.run(
            [sys.executable, "-m", "candle_lib", "status", "results", "--config", "config.yaml"],
            cwd=workdir,
            capture_output=True,
            text=True,
            env=dict(env, PYTHONPATH=str(REPO)),
            check=True,
        ).stdout.splitlines()
        assert status[1] == "trials: 4 of 4 done (2 ok, 2 failed), 0 running, 0 pending"
        assert status[2].startswith(f"best so far: val_loss={ok[best_id]:.4g}  trial {best_id}  learning_rate=")
    finally:
        for process in (study, server):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        if browser is not None:
            browser.close()
        study_log.close()
