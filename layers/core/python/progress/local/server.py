"""`make run`: the LRS on http://127.0.0.1:8080/xapi, served by the very Lambda handlers.

Each HTTP request becomes an API Gateway REST proxy event. As on API Gateway, the route's
authorizer (``progress.catalog``) sees it first, except OPTIONS; then it is passed to
``functions/<name>/handler.lambda_handler`` and the proxy response is written back.
Environment: PORT, HOST, BACKEND (sqlite|dynamodb), DATA_DIR, LRS_KEY / LRS_SECRET (credentials
of the default tenant).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from progress import bootstrap
from progress.catalog import ROUTES, route_for
from progress.catalog import function as catalog_function
from progress.domain.errors import DomainError
from progress.domain.tenancy import Scope
from progress.edge.authorizer import DENIED_BODY, DENIED_HEADERS, DENIED_STATUS
from progress.local import moto
from progress.local.dispatcher import Pump, functions_dir_loader
from progress.settings import ENV_POWERTOOLS_METRICS_DISABLED, ENV_PUBLIC_BASE_URL, Settings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
DEFAULT_TENANT = "default"
# The default credential works everywhere locally: xAPI, and the admin API as operator.
LOCAL_SCOPES = frozenset({Scope.ALL, Scope.ADMIN, Scope.OPERATOR})
DRAIN_LIMIT = 256 * 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parents[5]


def load_handler(function: str, functions_dir: Path | None = None) -> Handler:
    """Import functions/<function>/handler.py the way Lambda does (by file, not as a package)."""
    path = (functions_dir or REPO_ROOT / "functions") / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"functions.{function}.handler", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{path}: no Lambda handler module")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler


class LambdaContext:
    """The attributes Powertools and our handlers read from a Lambda context. The remaining
    time counts down from the function's catalog timeout, as on Lambda."""

    def __init__(self, function: str) -> None:
        self.function_name = function
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function}"
        self.aws_request_id = str(uuid.uuid4())
        try:
            timeout_s = catalog_function(function).timeout_s
        except KeyError:
            timeout_s = 30
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def to_event(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway would build it."""
    url = urlsplit(target)
    multi_q = parse_qs(url.query, keep_blank_values=True)
    multi_h: dict[str, list[str]] = {}
    for name, value in headers.items():
        multi_h.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        b64 = False
    except UnicodeDecodeError:
        text, b64 = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}",
        "path": url.path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_h.items()},
        "multiValueHeaders": multi_h,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": {"proxy": url.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "local",
            "httpMethod": method,
            "path": url.path,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": b64,
    }


def authorize(
    authorizer: Handler, name: str, event: dict[str, Any]
) -> tuple[int, dict[str, str], bytes] | None:
    """What API Gateway does with a REQUEST authorizer: the response that stops the request
    (401 on "Unauthorized", 403 on a Deny), or None after putting the authorizer's context into
    ``requestContext.authorizer``."""
    method, path = event["httpMethod"], event["path"]
    request = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
    request.update(
        type="REQUEST",
        methodArn=f"arn:aws:execute-api:local:000000000000:local/local/{method}{path}",
    )
    try:
        policy = authorizer(request, LambdaContext(name))
    except Exception as exc:
        if str(exc) == "Unauthorized":
            return DENIED_STATUS, dict(DENIED_HEADERS), DENIED_BODY.encode()
        raise
    if any(s["Effect"] != "Allow" for s in policy["policyDocument"]["Statement"]):
        return 403, {"Content-Type": "application/json"}, b'{"message": "Forbidden"}'
    event["requestContext"]["authorizer"] = {
        **policy.get("context", {}),
        "principalId": policy["principalId"],
    }
    return None


class Front(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], max_body: int) -> None:
        super().__init__(address, RequestHandler)
        self.max_body = max_body
        names = {name for r in ROUTES for name in (r.function, r.authorizer) if name}
        self.handlers: dict[str, Handler] = {name: load_handler(name) for name in names}


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a small response then waits for
    # the client's delayed ACK (~40 ms on every keep-alive request). TCP_NODELAY removes that.
    disable_nagle_algorithm = True
    server: Front

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("ACCESS_LOG"):
            super().log_message(format, *args)

    def _read_body(self) -> bytes | None:
        """The request body, or None when it exceeds the limit.

        A too-large body is still drained (up to ``DRAIN_LIMIT``) so the client reads our 413
        instead of a broken pipe.
        """
        limit = self.server.max_body
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                data = self.rfile.read(size)
                if total <= limit:
                    chunks.append(data)
                self.rfile.readline()
            return b"".join(chunks) if total <= limit else None
        length = int(self.headers.get("Content-Length") or 0)
        if length <= limit:
            return self.rfile.read(length) if length else b""
        remaining = min(length, DRAIN_LIMIT)
        while remaining > 0:
            got = self.rfile.read(min(remaining, 1 << 16))
            if not got:
                break
            remaining -= len(got)
        return None

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        route = route_for(path)
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(
                413,
                {"Content-Type": "application/json"},
                json.dumps(
                    {
                        "error": {
                            "status": 413,
                            "message": f"body: exceeds the limit of {self.server.max_body} bytes",
                        }
                    }
                ).encode(),
            )
            return
        if route is None:
            self._write(
                404,
                {"Content-Type": "application/json"},
                json.dumps(
                    {
                        "error": {
                            "status": 404,
                            "message": f"{path}: no such resource (the LRS is under /xapi)",
                        }
                    }
                ).encode(),
            )
            return
        headers = dict(self.headers.items())
        event = to_event(self.command, self.path, headers, body)
        if route.authorizer and self.command != "OPTIONS":
            name = route.authorizer
            denied = authorize(self.server.handlers[name], name, event)
            if denied is not None:
                self._write(*denied)
                return
        response = self.server.handlers[route.function](event, LambdaContext(route.function))
        raw = response.get("body") or ""
        data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        self._write(int(response["statusCode"]), out_headers, data)

    def _write(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header(
            "Content-Length", "0" if self.command == "HEAD" and not data else str(len(data))
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815


def ensure_default_credentials(svc: bootstrap.Services, data_dir: Path) -> tuple[str, str]:
    """LRS_KEY/LRS_SECRET for the default tenant: created if absent, generated when unset
    (and then remembered in DATA_DIR so a restart keeps them)."""
    key, secret = os.environ.get("LRS_KEY"), os.environ.get("LRS_SECRET")
    remembered = data_dir / "local-credentials.json"
    if not key and not secret and remembered.exists():
        saved = json.loads(remembered.read_text())
        key, secret = saved["key"], saved["secret"]
    svc.tenants.create_tenant(DEFAULT_TENANT, "Default tenant (local)")
    existing = svc.tenant_store.get_credential(key) if key else None
    from progress.domain.tenancy import verify_secret

    if (
        existing is not None
        and secret
        and verify_secret(secret, existing.secret_hash)
        and existing.scopes >= LOCAL_SCOPES
    ):
        return key, secret  # type: ignore[return-value]
    # Created, or re-created with the same key and secret when it predates a scope.
    credential, secret = svc.tenants.create_credential(
        DEFAULT_TENANT, LOCAL_SCOPES, label="local admin", key=key, secret=secret
    )
    if not os.environ.get("LRS_KEY"):
        data_dir.mkdir(parents=True, exist_ok=True)
        remembered.write_text(json.dumps({"key": credential.key, "secret": secret}))
        remembered.chmod(0o600)
    return credential.key, secret


@dataclass
class Running:
    """A started local LRS: the HTTP front plus what must be closed when it stops."""

    front: Front
    services: bootstrap.Services
    key: str
    secret: str
    stack: ExitStack
    pump: Pump
    serving: bool = False

    @property
    def url(self) -> str:
        host, port = self.front.server_address[:2]
        return f"http://{host!s}:{port}/xapi"

    def serve_in_background(self) -> Running:
        """Serve on a daemon thread (tests, benchmarks); ``close`` stops it."""
        thread = threading.Thread(
            target=self.front.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self.serving = True
        return self

    def close(self) -> None:
        if self.serving:  # shutdown() waits for a serve_forever loop to end
            self.front.shutdown()
        self.stack.close()
        bootstrap.install(None)


def start(settings: Settings, host: str, port: int) -> Running:
    """Build the services exactly as a Lambda container would, and bind the HTTP front."""
    # Nobody collects EMF metrics here: keep stdout for the banner (progress.edge.observability).
    os.environ.setdefault(ENV_POWERTOOLS_METRICS_DISABLED, "true")
    stack = ExitStack()
    try:
        front = Front((host, port), settings.max_body_bytes)
        stack.callback(front.server_close)
        if not os.environ.get(ENV_PUBLIC_BASE_URL):  # verification links point at this front
            bound_host, bound_port = front.server_address[:2]
            settings = replace(settings, public_base_url=f"http://{bound_host!s}:{bound_port}")
        client = moto.start(stack, settings.table_name) if settings.backend == "dynamodb" else None
        svc = bootstrap.build(settings, dynamodb_client=client)
        stack.callback(svc.close)
        bootstrap.install(svc)
        key, secret = ensure_default_credentials(svc, settings.data_dir)
        pump = Pump(svc, functions_dir_loader(), LambdaContext)
        pump.start()
        stack.callback(pump.close)  # before the services close (callbacks run in reverse)
    except BaseException:
        stack.close()
        raise
    return Running(front, svc, key, secret, stack, pump)


def serve(settings: Settings, host: str, port: int) -> None:
    running = start(settings, host, port)
    where = (
        settings.sqlite_path if settings.backend == "sqlite" else "in-process moto (not persisted)"
    )
    try:  # from here on, Ctrl-C at any moment ends in the clean stop below
        print(f"progress LRS  {running.url}", flush=True)
        print(f"  backend   {settings.backend} ({where})", flush=True)
        print(f"  key       {running.key}", flush=True)
        print(f"  secret    {running.secret}", flush=True)
        print(
            f"  try       curl -u {running.key}:{running.secret}"
            f" -H 'X-Experience-API-Version: 1.0.3' {running.url}/statements",
            flush=True,
        )
        base = running.url.removesuffix("/xapi")
        print(f"  progress  {base}/progress/attempts · /progress/completions", flush=True)
        print(f"  verify    {base}/certificates/<id> (public)", flush=True)
        print(
            f"  admin     {base}/admin/tenants (OpenAPI: schemas/openapi/admin-api.json)",
            flush=True,
        )
        print("  Ctrl-C stops.", flush=True)
        running.front.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        running.stack.close()
    print("progress LRS stopped.", flush=True)


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    try:
        settings = Settings.from_env()
        port = int(os.environ.get("PORT") or 8080)
    except ValueError as exc:
        print(f"progress-local: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    host = os.environ.get("HOST") or "127.0.0.1"
    # Ctrl-C and SIGTERM stop cleanly, also when started as a background job (a shell starts
    # those with SIGINT ignored, and Python then never installs its own handler).
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        serve(settings, host, port)
    except DomainError as exc:
        print(f"progress-local: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:
        print(f"progress-local: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # stopped while still starting
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
