"""Property-based testing of the admin API against its committed OpenAPI document
(schemathesis), over real HTTP to the local runtime on SQLite: whatever the document allows or
almost allows, the service never answers 5xx, and what it answers is what the document says.

Bounded for `make test`: a few dozen cases per operation (ADMIN_FUZZ_EXAMPLES raises it).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from progress.domain.tenancy import Scope
from progress.local import openapi
from progress.local.server import Running, start
from progress.settings import Settings

EXAMPLES = int(os.environ.get("ADMIN_FUZZ_EXAMPLES", "20"))
CHECKS = {
    # Valid requests: never 5xx, a documented status, a body that matches its schema.
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        response_schema_conformance,
    ],
    # Requests the document forbids: never 5xx, and answered with a documented status.
    GenerationMode.NEGATIVE: [not_a_server_error, status_code_conformance],
}

# Loaded at collection: one test per operation of the committed document. (Schemathesis' own
# pytest plugin does not run under pytest 9 yet, so the strategies are driven by hypothesis.)
SCHEMA = schemathesis.openapi.from_path(openapi.DOCUMENT)
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}  # type: ignore[union-attr]  # an Err raises: the document is ours


@pytest.fixture(scope="module")
def admin_lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, str]]:
    data: Path = tmp_path_factory.mktemp("admin-fuzz")
    settings_ = Settings(backend="sqlite", data_dir=data, cursor_secret="fuzz-cursor-secret-0123")
    running = start(settings_, "127.0.0.1", 0).serve_in_background()
    svc = running.services
    svc.tenants.create_tenant("alpha")
    cred, secret = svc.tenants.create_credential(
        "alpha", frozenset({Scope.OPERATOR, Scope.ADMIN}), label="fuzz"
    )
    token = base64.b64encode(f"{cred.key}:{secret}".encode()).decode()
    try:
        yield running, f"Basic {token}"
    finally:
        running.close()


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_admin_api_never_answers_5xx_and_keeps_to_its_document(
    label: str, mode: GenerationMode, admin_lrs: tuple[Running, str]
) -> None:
    running, auth = admin_lrs
    base_url = running.url.removesuffix("/xapi")
    operation = OPERATIONS[label]
    strategy = operation.as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case[Any]) -> None:
        if case.path_parameters and "tenant" in case.path_parameters:
            case.path_parameters["tenant"] = "alpha"  # reach the handlers, not only the 404s
        response = case.call(base_url=base_url, headers={"Authorization": auth})
        case.validate_response(response, checks=CHECKS[mode])

    check()
