"""`candle serve` answers only requests addressed to it by name (DNS rebinding): a real server on
a loopback port, asked with http.client and a forged or a right Host header."""

from __future__ import annotations

import argparse
import http.client
import json
import threading

import pytest

from candle_lib.report.dashboard import allowed_hosts, make_server
from candle_lib.report.status import Study


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    (results / "trials").mkdir()
    study = Study(argparse.Namespace(results=str(results), config=None, stale_after=600.0))
    server = make_server(study, "127.0.0.1", 0, allow_hosts=("candle.example.org",))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def get(server, path: str, host: str | None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "host",
    ["evil.example.com:{port}", "evil.example.com", "127.0.0.1", "localhost:1", "127.0.0.1.evil.com:{port}", None, ""],
)
def test_a_request_addressed_to_another_name_is_refused(server, host):
    port = server.server_address[1]
    forged = None if host is None else host.format(port=port)
    for path in ("/", "/api/status"):
        status, body = get(server, path, forged)
        assert status == 421
        assert body.decode().startswith("421 Misdirected Request: this dashboard answers only to ")
        assert b'"counts"' not in body and b"<html" not in body


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "candle.example.org"])
def test_the_loopback_names_and_allowed_names_with_the_port_are_served(server, name):
    port = server.server_address[1]
    status, body = get(server, "/api/status", f"{name}:{port}")
    assert status == 200
    assert json.loads(body)["counts"]["done"] == 0
    status, body = get(server, "/", f"{name}:{port}")
    assert status == 200 and body.startswith(b"<!doctype html>")


def test_allowed_hosts():
    assert allowed_hosts("127.0.0.1", 8765) == {"localhost:8765", "127.0.0.1:8765", "[::1]:8765"}
    assert allowed_hosts("0.0.0.0", 8765, ("Node7",)) == {
        "localhost:8765",
        "127.0.0.1:8765",
        "[::1]:8765",
        "node7:8765",
    }
    assert allowed_hosts("10.1.2.3", 80) == {
        *("localhost", "127.0.0.1", "[::1]", "10.1.2.3"),
        *("localhost:80", "127.0.0.1:80", "[::1]:80", "10.1.2.3:80"),
    }
    assert "[fe80::1]:9000" in allowed_hosts("fe80::1", 9000)
