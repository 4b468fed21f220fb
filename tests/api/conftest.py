"""API-level harness: the real Lambda handler, called with API Gateway events, on real storage.

``lrs`` is parametrized over SQLite (a real file) and DynamoDB (moto); it holds two tenants,
each with an all-scopes credential, so every API test can also check tenant isolation.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from progress import bootstrap
from progress.domain.tenancy import Scope
from progress.local.server import Handler, LambdaContext, load_handler, to_event
from progress.settings import Settings

VERSION = {"X-Experience-API-Version": "1.0.3"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Client:
    """Sends requests through ``lambda_handler`` as one credential."""

    handler: Handler
    auth: str | None
    defaults: dict[str, str] = field(default_factory=lambda: dict(VERSION))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        hdrs = dict(self.defaults)
        if self.auth is not None:
            hdrs["Authorization"] = self.auth
        if json is not None:
            body = orjson.dumps(json)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        target = "/xapi" + path + ("?" + urlencode(params) if params else "")
        response = self.handler(to_event(method, target, hdrs, body or b""), LambdaContext("t"))
        raw = response.get("body") or ""
        data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
        out = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out[name] = ", ".join(values)
        return Reply(int(response["statusCode"]), out, data)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Reply:
        return self.request("PUT", path, **kw)


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@dataclass
class Lrs:
    services: bootstrap.Services
    handler: Handler
    a: Client  # tenant "alpha", scope all
    b: Client  # tenant "beta", scope all

    def client(self, tenant: str, scopes: frozenset[Scope], label: str = "app") -> Client:
        cred, secret = self.services.tenants.create_credential(tenant, scopes, label=label)
        return Client(self.handler, basic(cred.key, secret))

    def anonymous(self) -> Client:
        return Client(self.handler, None)


def _build(backend: str, tmp_path: Path) -> Iterator[bootstrap.Services]:
    settings = Settings(backend=backend, data_dir=tmp_path)  # type: ignore[arg-type]
    if backend == "sqlite":
        yield bootstrap.build(settings)
        return
    from progress.local import moto

    with ExitStack() as stack:
        client = moto.start(stack, settings.table_name)
        yield bootstrap.build(settings, dynamodb_client=client)


@pytest.fixture(params=["sqlite", "dynamodb"])
def lrs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lrs]:
    for svc in _build(request.param, tmp_path):
        bootstrap.install(svc)
        handler = load_handler("xapi_api")
        clients = []
        for tenant in ("alpha", "beta"):
            svc.tenants.create_tenant(tenant)
            cred, secret = svc.tenants.create_credential(
                tenant, frozenset({Scope.ALL}), label=f"{tenant} admin"
            )
            clients.append(Client(handler, basic(cred.key, secret)))
        try:
            yield Lrs(svc, handler, clients[0], clients[1])
        finally:
            bootstrap.install(None)
            svc.close()
