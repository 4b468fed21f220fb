"""BACKEND=dynamodb without AWS: the DynamoDB adapter against moto, in this process.

DynamoDB applies each request atomically. In-process moto takes no lock, so two threads can
interleave inside one conditional PutItem or UpdateItem. ``serialise_requests`` gives the
service's per-request atomicity back; races between an adapter's own requests remain, as on AWS.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def serialise_requests() -> Callable[[], None]:
    """Make moto handle one request at a time; returns the function that undoes it."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def one_at_a_time(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    BotocoreStubber.process_request = one_at_a_time  # type: ignore[method-assign]

    def undo() -> None:
        BotocoreStubber.process_request = process  # type: ignore[method-assign]

    return undo


def start(stack: ExitStack, table_name: str) -> Any:
    """Start moto for the life of ``stack``, create the table, return a DynamoDB client."""
    for name, value in FAKE_ENV.items():
        os.environ.setdefault(name, value)
    # Verified: botocore otherwise targets account-specific endpoints moto does not serve.
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    import boto3
    from moto import mock_aws

    from progress.adapters.dynamodb.table import create_table

    stack.enter_context(mock_aws())
    stack.callback(serialise_requests())
    client = boto3.client("dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"])
    create_table(client, table_name)
    return client
