"""Typed settings, read once at cold start; every problem is listed at once (fail fast).

Environment variable names are defined here only; ``infra/`` imports them from this module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ENV_BACKEND = "BACKEND"
ENV_DATA_DIR = "DATA_DIR"
ENV_TABLE_NAME = "TABLE_NAME"
ENV_CURSOR_SECRET = "CURSOR_SECRET"  # noqa: S105 - the variable's name, not a secret
ENV_CURSOR_SECRET_ARN = "CURSOR_SECRET_ARN"  # noqa: S105 - Secrets Manager secret holding it
ENV_MAX_BODY_BYTES = "MAX_BODY_BYTES"
ENV_MAX_PAGE = "MAX_PAGE"
ENV_CONSISTENCY_LAG_MS = "CONSISTENCY_LAG_MS"
ENV_INDEX_SHARDS = "INDEX_SHARDS"
ENV_AUTHORITY_HOMEPAGE = "AUTHORITY_HOMEPAGE"
ENV_EVENT_BUS_NAME = "EVENT_BUS_NAME"
ENV_CERTIFICATE_BUCKET = "CERTIFICATE_BUCKET"
ENV_EXPORT_BUCKET = "EXPORT_BUCKET"  # compliance export files (S3); empty: DATA_DIR/exports
ENV_PUBLIC_BASE_URL = "PUBLIC_BASE_URL"  # where certificate verification URLs point
# JSON object: consumer function name -> SQS URL of its dead-letter queue (AWS only).
ENV_DEAD_LETTER_QUEUES = "DEAD_LETTER_QUEUES"
# Read by Powertools, not by Settings; named here so that infra/ and the local runtime share them.
ENV_POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_POWERTOOLS_METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"


class SettingsError(ValueError):
    """Raised at start-up with every invalid setting named."""


@dataclass(frozen=True, slots=True)
class Settings:
    backend: Literal["sqlite", "dynamodb", "memory"] = "sqlite"
    data_dir: Path = Path("data")
    table_name: str = "progress"
    cursor_secret: str = ""
    cursor_secret_arn: str = ""
    max_body_bytes: int = 10 * 1024 * 1024
    max_page: int = 1000
    consistency_lag_ms: int = 0
    index_shards: int = 4
    authority_homepage: str = "https://progress.invalid/credentials"
    event_bus_name: str = ""  # empty: the local dispatcher delivers events in-process
    certificate_bucket: str = ""  # empty: certificates go to DATA_DIR/certificates
    export_bucket: str = ""  # empty: export files go to DATA_DIR/exports (signed local URLs)
    public_base_url: str = "http://127.0.0.1:8080"
    dead_letter_queues: Mapping[str, str] | None = None  # None: DLQ rows in the local store

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "progress.db"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[str] = []

        def integer(name: str, default: int, low: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name}: expected an integer, got {raw!r}")
                return default
            if value < low:
                problems.append(f"{name}: must be >= {low}, got {value}")
            return value

        d = cls()
        backend = env.get(ENV_BACKEND, "sqlite") or "sqlite"
        if backend not in ("sqlite", "dynamodb", "memory"):
            problems.append(f"{ENV_BACKEND}: expected sqlite, dynamodb or memory, got {backend!r}")
        settings = cls(
            backend=backend,  # type: ignore[arg-type]
            data_dir=Path(env.get(ENV_DATA_DIR) or "data"),
            table_name=env.get(ENV_TABLE_NAME) or "progress",
            cursor_secret=env.get(ENV_CURSOR_SECRET, ""),
            cursor_secret_arn=env.get(ENV_CURSOR_SECRET_ARN, ""),
            max_body_bytes=integer(ENV_MAX_BODY_BYTES, d.max_body_bytes, 1024),
            max_page=integer(ENV_MAX_PAGE, d.max_page, 1),
            consistency_lag_ms=integer(ENV_CONSISTENCY_LAG_MS, d.consistency_lag_ms, 0),
            index_shards=integer(ENV_INDEX_SHARDS, d.index_shards, 1),
            authority_homepage=env.get(ENV_AUTHORITY_HOMEPAGE) or d.authority_homepage,
            event_bus_name=env.get(ENV_EVENT_BUS_NAME, ""),
            certificate_bucket=env.get(ENV_CERTIFICATE_BUCKET, ""),
            export_bucket=env.get(ENV_EXPORT_BUCKET, ""),
            public_base_url=(env.get(ENV_PUBLIC_BASE_URL) or d.public_base_url).rstrip("/"),
            dead_letter_queues=_queues(env.get(ENV_DEAD_LETTER_QUEUES), problems),
        )
        if env.get("AWS_LAMBDA_FUNCTION_NAME") and not (
            settings.cursor_secret or settings.cursor_secret_arn
        ):
            # Locally a key file in DATA_DIR serves; on Lambda the disk is read-only and every
            # container must sign `more` cursors with the same key. infra/ sets the ARN: the key
            # is then read from Secrets Manager on first use and never sits in the configuration.
            problems.append(
                f"{ENV_CURSOR_SECRET} or {ENV_CURSOR_SECRET_ARN}: one is required on AWS Lambda"
            )
        if settings.cursor_secret and len(settings.cursor_secret.encode()) < 16:
            problems.append(f"{ENV_CURSOR_SECRET}: at least 16 bytes")
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))
        return settings


def _queues(raw: str | None, problems: list[str]) -> Mapping[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        problems.append(f"{ENV_DEAD_LETTER_QUEUES}: expected a JSON object of consumer -> URL")
        return None
    return value
