"""Secrets Manager: one read of a secret's string, at first use in a container."""

from __future__ import annotations

from typing import Any


def secret_string(arn: str, client: Any | None = None) -> str:
    """The current ``SecretString`` of ``arn``; errors propagate (the caller cannot do without)."""
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    return str(client.get_secret_value(SecretId=arn)["SecretString"])
