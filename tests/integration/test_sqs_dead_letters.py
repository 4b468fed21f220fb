"""``SqsDeadLetters`` on moto: the consumers' Lambda DLQs read and written as Lambda does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from progress.adapters.sqs import DEFAULT_ATTEMPTS, SqsDeadLetters
from progress.app.ports import DeadLetter
from progress.local.moto import FAKE_ENV

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

CONSUMERS = ("projection", "certificates")


def env(n: int, type_: str = "progress.statement.stored.v1") -> dict[str, Any]:
    return {
        "id": f"e{n}",
        "type": type_,
        "source": "progress",
        "tenant": "tenant-one",
        "time": f"2025-01-01T00:00:{n % 60:02d}.000000Z",
        "data": {"n": n},
    }


@pytest.fixture
def letters(monkeypatch: pytest.MonkeyPatch) -> Iterator[SqsDeadLetters]:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    from moto import mock_aws

    with mock_aws():
        yield SqsDeadLetters.create_local(CONSUMERS)


def client_of(letters: SqsDeadLetters) -> SQSClient:
    return letters._client


def url_of(letters: SqsDeadLetters, consumer: str) -> str:
    return letters._queues[consumer]


def summary(found: list[DeadLetter]) -> list[tuple[str, str, str, int]]:
    return [(d.consumer, d.envelope["id"], d.reason, d.attempts) for d in found]


def lambda_dead_letter(letters: SqsDeadLetters, consumer: str, body: str, error: str) -> None:
    """What Lambda sends after the last failed attempt of an asynchronous invocation."""
    client_of(letters).send_message(
        QueueUrl=url_of(letters, consumer),
        MessageBody=body,
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": "0f9c5f3e-request"},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error},
        },
    )


def eventbridge_event(envelope: dict[str, Any]) -> str:
    return orjson.dumps(
        {
            "version": "0",
            "id": "4e1c6a6c-event",
            "detail-type": envelope["type"],
            "source": envelope["source"],
            "account": "123456789012",
            "time": "2025-01-01T00:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": envelope,
        }
    ).decode()


# ------------------------------------------------------------------------------- add/list


def test_add_then_list_round_trips_in_the_order_added(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "KeyError: 'verb'", 3)
    letters.add("certificates", env(2), "boom", 5)
    letters.add("projection", env(3), "", 1)
    found = letters.list(None, 10)
    assert summary(found) == [
        ("projection", "e1", "KeyError: 'verb'", 3),
        ("certificates", "e2", "boom", 5),
        ("projection", "e3", "", 1),
    ]
    assert [d.envelope for d in found] == [env(1), env(2), env(3)]
    assert found[0].failed_us < found[1].failed_us < found[2].failed_us
    assert abs(found[0].failed_us - time.time_ns() // 1000) < 60 * 10**6
    assert len({d.id for d in found}) == 3


def test_list_by_consumer_and_limit(letters: SqsDeadLetters) -> None:
    for n in range(25):
        letters.add(CONSUMERS[n % 2], env(n), f"r{n}", 3)
    everything = letters.list(None, 100)
    assert [d.envelope["id"] for d in everything] == [f"e{n}" for n in range(25)]
    assert [d.envelope["id"] for d in letters.list(None, 7)] == [f"e{n}" for n in range(7)]
    assert [d.envelope["id"] for d in letters.list("certificates", 3)] == ["e1", "e3", "e5"]
    assert len(letters.list("projection", 100)) == 13
    assert letters.list("nobody", 10) == []
    assert letters.list(None, 0) == []


def test_listing_does_not_consume(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "boom", 3)
    first = letters.list(None, 10)
    assert letters.list(None, 10) == first  # visible again at once, not after the timeout
    raw = client_of(letters).receive_message(
        QueueUrl=url_of(letters, "projection"), WaitTimeSeconds=0
    )
    assert len(raw.get("Messages", [])) == 1


def test_add_writes_what_lambda_writes(letters: SqsDeadLetters) -> None:
    letters.add("certificates", env(7, "progress.completion.recorded.v1"), "boom", 3)
    message = client_of(letters).receive_message(
        QueueUrl=url_of(letters, "certificates"), MessageAttributeNames=["All"]
    )["Messages"][0]
    event = orjson.loads(message["Body"])
    assert event["detail"] == env(7, "progress.completion.recorded.v1")
    assert event["detail-type"] == "progress.completion.recorded.v1"
    assert event["source"] == "progress"
    assert event["time"] == "2025-01-01T00:00:07Z"
    assert event["version"] == "0"
    assert event["account"] == "123456789012"  # moto's account, from the queue URL
    assert event["region"] == FAKE_ENV["AWS_DEFAULT_REGION"]
    assert set(event) == {
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail",
    }  # fmt: skip
    attributes = message["MessageAttributes"]
    assert attributes["ErrorMessage"] == {"DataType": "String", "StringValue": "boom"}
    assert attributes["Attempts"] == {"DataType": "Number", "StringValue": "3"}


def test_adding_for_an_unknown_consumer_is_an_error(letters: SqsDeadLetters) -> None:
    with pytest.raises(ValueError, match="nobody"):
        letters.add("nobody", env(1), "boom", 3)


def test_characters_sqs_refuses_in_a_reason_are_replaced(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "nul \x00 esc \x1b lone \ud800 ok é 李 🙂\n", 3)
    reason = letters.list(None, 1)[0].reason
    assert reason == "nul \ufffd esc \ufffd lone \ufffd ok é 李 🙂\n"


def test_a_long_reason_is_cut(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "x" * 20_000, 3)
    assert len(letters.list(None, 1)[0].reason) == 8_192


# ------------------------------------------------------------------- what Lambda sends


def test_a_lambda_dead_letter_is_listed(letters: SqsDeadLetters) -> None:
    before_ms = time.time_ns() // 10**6
    lambda_dead_letter(letters, "projection", eventbridge_event(env(4)), "KeyError: 'verb'")
    after_ms = time.time_ns() // 10**6
    [letter] = letters.list(None, 10)
    assert letter.consumer == "projection"
    assert letter.envelope == env(4)
    assert letter.reason == "KeyError: 'verb'"
    assert letter.attempts == DEFAULT_ATTEMPTS == 3
    assert letter.failed_us % 1000 == 0  # SentTimestamp: milliseconds
    assert before_ms * 1000 <= letter.failed_us <= after_ms * 1000


def test_lambda_and_added_letters_sort_together(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "first", 3)
    time.sleep(0.005)
    lambda_dead_letter(letters, "certificates", eventbridge_event(env(2)), "second")
    time.sleep(0.005)
    letters.add("certificates", env(3), "third", 3)
    assert [d.reason for d in letters.list(None, 10)] == ["first", "second", "third"]


@pytest.mark.parametrize(
    ("body", "why", "shown"),
    [
        ("not json {", "body is not JSON", {"body": "not json {"}),
        ("[1, 2]", "body is not a JSON object", {"body": [1, 2]}),
        ('{"foo": 1}', "not an event with a detail object", {"body": {"foo": 1}}),
        ('{"detail": "text"}', "not an event with a detail object", {"body": {"detail": "text"}}),
    ],
)
def test_a_body_of_another_shape_is_listed_with_the_reason(
    letters: SqsDeadLetters, body: str, why: str, shown: dict[str, Any]
) -> None:
    lambda_dead_letter(letters, "projection", body, "Task timed out")
    [letter] = letters.list(None, 10)
    assert letter.envelope == shown
    assert why in letter.reason
    assert letter.reason.endswith("; Task timed out")  # Lambda's error is kept


def test_bad_attributes_fall_back(letters: SqsDeadLetters) -> None:
    client_of(letters).send_message(
        QueueUrl=url_of(letters, "projection"),
        MessageBody=eventbridge_event(env(1)),
        MessageAttributes={
            "Attempts": {"DataType": "String", "StringValue": "many"},
            "FailedUs": {"DataType": "String", "StringValue": "soon"},
        },
    )
    [letter] = letters.list(None, 10)
    assert (letter.reason, letter.attempts) == ("", 3)
    assert letter.failed_us % 1000 == 0  # SentTimestamp after all


# -------------------------------------------------------------------------------- remove


def test_remove_deletes_what_list_returned(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "a", 3)
    letters.add("certificates", env(2), "b", 3)
    letters.add("projection", env(3), "c", 3)
    found = letters.list(None, 10)
    letters.remove([found[0].id, found[1].id])
    assert [d.envelope["id"] for d in letters.list(None, 10)] == ["e3"]
    letters.remove([found[0].id, "no-such-id"])  # already gone, unknown: ignored
    letters.remove([])
    assert [d.envelope["id"] for d in letters.list(None, 10)] == ["e3"]


def test_remove_finds_letters_this_adapter_never_listed(letters: SqsDeadLetters) -> None:
    for n in range(23):
        letters.add(CONSUMERS[n % 2], env(n), "boom", 3)
    ids = [d.id for d in letters.list(None, 100)]
    fresh = SqsDeadLetters(client_of(letters), letters._queues, wait_time_s=0)
    fresh.remove(ids[:20])
    assert [d.envelope["id"] for d in letters.list(None, 100)] == ["e20", "e21", "e22"]


def test_remove_after_a_relisting_uses_the_latest_receipt(letters: SqsDeadLetters) -> None:
    letters.add("projection", env(1), "a", 3)
    other = SqsDeadLetters(client_of(letters), letters._queues, wait_time_s=0)
    [letter] = letters.list(None, 10)
    other.list(None, 10)  # another reader received it since
    letters.list(None, 10)  # ... and so did we again
    letters.remove([letter.id])
    assert letters.list(None, 10) == []


def test_the_contract_scenario(letters: SqsDeadLetters) -> None:
    """tests/contract/test_progress_stores.py::test_dead_letters_list_and_remove, here too."""
    e = {
        "id": "e1",
        "type": "progress.statement.stored.v1",
        "source": "progress",
        "tenant": "T1",
        "time": "2025-01-01T00:00:00.000000Z",
        "data": {},
    }
    letters.add("projection", e, "KeyError: 'verb'", 3)
    letters.add("certificates", {**e, "id": "e2"}, "boom", 3)
    assert summary(letters.list(None, 10)) == [
        ("projection", "e1", "KeyError: 'verb'", 3),
        ("certificates", "e2", "boom", 3),
    ]
    only = letters.list("projection", 10)
    assert [d.envelope for d in only] == [e]
    letters.remove([only[0].id])
    assert [d.consumer for d in letters.list(None, 10)] == ["certificates"]
