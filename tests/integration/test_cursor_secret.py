"""The cursor HMAC key on Lambda: read from Secrets Manager (moto) at first use, never before --
so a function that signs no cursor (the authorizer) needs no permission to read it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from progress import bootstrap
from progress.domain.statements import Position
from progress.local import moto
from progress.settings import Settings

pytestmark = pytest.mark.dynamodb


@pytest.fixture
def secret_arn() -> Iterator[str]:
    with ExitStack() as stack:
        moto.start(stack, "progress-secret-test")
        client = boto3.client("secretsmanager", region_name="us-east-1")
        yield client.create_secret(Name="cursor", SecretString="k" * 64)["ARN"]


def test_lambda_settings_accept_the_secret_arn_instead_of_the_key() -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "xapi_api", "CURSOR_SECRET_ARN": "arn:aws:x"}
    assert Settings.from_env(env).cursor_secret_arn == "arn:aws:x"


def test_cursors_are_signed_with_the_secret_read_at_first_use(
    secret_arn: str, tmp_path: Path
) -> None:
    settings = Settings(backend="memory", data_dir=tmp_path, cursor_secret_arn=secret_arn)
    svc = bootstrap.build(settings)
    token = svc.cursors.encode({"verb": "v"}, Position(1, "id"))
    same_key = bootstrap.build(Settings(backend="memory", cursor_secret="k" * 64)).cursors
    assert same_key.decode(token) == ({"verb": "v"}, Position(1, "id"))


def test_services_that_sign_no_cursor_never_read_the_secret(
    secret_arn: str, tmp_path: Path
) -> None:
    missing = secret_arn.replace("cursor", "no-such-secret")
    svc = bootstrap.build(Settings(backend="memory", data_dir=tmp_path, cursor_secret_arn=missing))
    assert svc.auth is not None  # built: the authorizer's whole graph
    with pytest.raises(ClientError, match="ResourceNotFound"):
        _ = svc.cursors
