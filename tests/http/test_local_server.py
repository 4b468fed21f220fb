"""`make run` for real: the local front in a subprocess, spoken to over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.http


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    key: str
    secret: str
    banner: str

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        hdrs = {"X-Experience-API-Version": "1.0.3", **(headers or {})}
        if auth:
            token = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
            hdrs["Authorization"] = f"Basic {token}"
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def launch(data_dir: Path, **env: str) -> Server:
    port = free_port()
    environ = {**os.environ, "PORT": str(port), "DATA_DIR": str(data_dir), **env}
    environ.pop("LRS_KEY", None) if "LRS_KEY" not in env else None
    environ.pop("LRS_SECRET", None) if "LRS_SECRET" not in env else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "progress.local.server"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    banner = "".join(lines)
    url = re.search(r"(http://\S+/xapi)", banner)
    key = re.search(r"key\s+(\S+)", banner)
    secret = re.search(r"secret\s+(\S+)", banner)
    assert url, banner
    assert key, banner
    assert secret, banner
    return Server(proc, url.group(1), key.group(1), secret.group(1), banner)


def stop(server: Server) -> str:
    server.proc.send_signal(signal.SIGINT)
    out, _ = server.proc.communicate(timeout=15)
    assert server.proc.returncode == 0, out
    return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = launch(tmp_path / "data")
    try:
        yield srv
    finally:
        if srv.proc.poll() is None:
            stop(srv)


def statement(**extra: Any) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:http@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.com/http-test"},
        **extra,
    }


def test_make_run_prints_endpoint_and_credentials_and_serves_xapi(server: Server) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert "backend   sqlite" in server.banner
    status, headers, body = server.call("GET", "/about", auth=False)
    assert status == 200
    assert "1.0.3" in json.loads(body)["version"]
    status, _, body = server.call(
        "POST",
        "/statements",
        json.dumps(statement()).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200
    (sid,) = json.loads(body)
    status, headers, body = server.call("GET", f"/statements?statementId={sid}")
    assert status == 200
    assert json.loads(body)["id"] == sid
    assert headers["X-Experience-API-Version"] == "1.0.3"
    assert "X-Experience-API-Consistent-Through" in headers


def test_multipart_attachments_round_trip_byte_exact_over_http(server: Server) -> None:
    """ATT-002, ATT-003, ATT-009: binary data in, the same bytes out."""
    data = bytes(range(256)) * 3 + b"\r\n--not-a-boundary\r\n"
    sha = hashlib.sha256(data).hexdigest()
    stmt = statement(
        attachments=[
            {
                "usageType": "http://example.com/usage/evidence",
                "display": {"en-US": "evidence"},
                "contentType": "application/octet-stream",
                "length": len(data),
                "sha2": sha,
            }
        ]
    )
    boundary = "xapi" + uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + json.dumps(stmt).encode()
        + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha}\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, reply = server.call(
        "POST", "/statements", body, {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    )
    assert status == 200, reply
    (sid,) = json.loads(reply)
    status, headers, out = server.call("GET", f"/statements?statementId={sid}&attachments=true")
    assert status == 200
    assert headers["Content-Type"].startswith("multipart/mixed; boundary=")
    assert data in out
    assert sha.encode() in out


def test_wrong_attachment_hash_is_400_and_stores_nothing(server: Server) -> None:
    data = b"payload"
    stmt = statement(
        attachments=[
            {
                "usageType": "http://example.com/usage/evidence",
                "display": {"en-US": "evidence"},
                "contentType": "text/plain",
                "length": len(data),
                "sha2": hashlib.sha256(b"something else").hexdigest(),
            }
        ]
    )
    body = (
        b"--b\r\nContent-Type: application/json\r\n\r\n"
        + json.dumps(stmt).encode()
        + b"\r\n--b\r\nContent-Type: text/plain\r\nX-Experience-API-Hash: "
        + hashlib.sha256(b"something else").hexdigest().encode()
        + b"\r\n\r\n"
        + data
        + b"\r\n--b--\r\n"
    )
    status, _, reply = server.call(
        "POST", "/statements", body, {"Content-Type": "multipart/mixed; boundary=b"}
    )
    assert status == 400
    assert b"X-Experience-API-Hash" in reply
    status, _, listing = server.call("GET", "/statements")
    assert json.loads(listing)["statements"] == []


def test_unknown_paths_and_huge_bodies_are_4xx_not_5xx(server: Server) -> None:
    status, _, _ = server.call("GET", "/../nowhere")
    assert status == 404
    status, _, body = server.call(
        "POST",
        "/statements",
        b"[" + b" " * (11 * 1024 * 1024) + b"]",
        {"Content-Type": "application/json"},
    )
    assert status == 413
    assert b"limit" in body


def test_data_and_credentials_survive_a_restart_and_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    first = launch(tmp_path / "data")
    status, _, body = first.call(
        "POST",
        "/statements",
        json.dumps(statement()).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200
    (sid,) = json.loads(body)
    assert "stopped" in stop(first)
    second = launch(tmp_path / "data")
    try:
        assert (second.key, second.secret) == (first.key, first.secret)
        status, _, body = second.call("GET", f"/statements?statementId={sid}")
        assert status == 200
    finally:
        stop(second)


def test_lrs_key_and_secret_from_the_environment(tmp_path: Path) -> None:
    srv = launch(tmp_path / "data", LRS_KEY="operator-key-1", LRS_SECRET="operator-secret-1")
    try:
        assert (srv.key, srv.secret) == ("operator-key-1", "operator-secret-1")
        assert srv.call("GET", "/statements")[0] == 200
    finally:
        stop(srv)


def test_bad_settings_fail_fast_naming_the_variable(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "progress.local.server"],
        env={**os.environ, "BACKEND": "postgres", "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "BACKEND" in proc.stderr


def test_sigint_stops_it_even_when_started_as_a_background_job(tmp_path: Path) -> None:
    """A shell starts background jobs with SIGINT ignored; `make run &` must still stop."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "progress.local.server"],
        env={**os.environ, "PORT": str(port), "DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Ctrl-C" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "stopped" in out


def test_the_authorizer_runs_first_as_on_api_gateway(server: Server) -> None:
    """C§4 on both runtimes: wrong credentials stop at the authorizer (API Gateway's 401), CORS
    preflight skips it, and credentials inside an alternate-syntax form (C§1.3, no header) still
    reach the handler. Nothing else is printed: no EMF metrics locally."""
    wrong = base64.b64encode(f"{server.key}:nope".encode()).decode()
    status, headers, body = server.call(
        "GET", "/statements", headers={"Authorization": f"Basic {wrong}"}, auth=False
    )
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="xAPI"'
    assert headers["X-Experience-API-Version"] == "1.0.3"
    assert json.loads(body)["error"]["status"] == 401
    status, headers, _ = server.call(
        "OPTIONS",
        "/statements",
        headers={"Origin": "https://course.example", "Access-Control-Request-Method": "PUT"},
        auth=False,
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    token = base64.b64encode(f"{server.key}:{server.secret}".encode()).decode()
    form = f"Authorization=Basic%20{token}&X-Experience-API-Version=1.0.3".encode()
    status, _, body = server.call(
        "POST",
        "/statements?method=GET",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
        auth=False,
    )
    assert status == 200, body
    assert "statements" in json.loads(body)
    assert '"_aws"' not in stop(server)
