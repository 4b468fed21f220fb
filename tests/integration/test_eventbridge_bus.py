"""``EventBridgeBus`` on moto (a rule with an SQS target receives what a consumer would), and
with botocore's Stubber for the failures moto does not produce."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from progress.adapters.eventbridge import (
    MAX_ENTRIES,
    MAX_REQUEST_BYTES,
    EventBridgeBus,
    entry_size,
)
from progress.local.moto import FAKE_ENV

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

BUS = "progress-test-bus"
RECORDED = "progress.completion.recorded.v1"
STORED = "progress.statement.stored.v1"


def env(n: int, type_: str = RECORDED, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"e{n}",
        "type": type_,
        "source": "progress",
        "tenant": "tenant-one",
        "time": f"2025-01-01T00:00:{n % 60:02d}.250000Z",
        "data": {"n": n, **extra},
    }


class Aws:
    def __init__(self, events: EventBridgeClient, sqs: SQSClient, queue_url: str) -> None:
        self.events = events
        self.sqs = sqs
        self.queue_url = queue_url
        self.calls: list[int] = []  # entries per PutEvents request
        events.meta.events.register("before-parameter-build.events.PutEvents", self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(len(params["Entries"]))

    def received(self) -> list[dict[str, Any]]:
        """The events the rule delivered to the queue, consumed."""
        out: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", []):
            for message in messages:
                out.append(orjson.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return out


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """A bus whose one rule sends ``progress.completion.recorded.v1`` events to a queue (the
    catalog's completion-recorded-to-certificates rule, with a queue for the Lambda)."""
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    import boto3
    from moto import mock_aws

    with mock_aws():
        region = FAKE_ENV["AWS_DEFAULT_REGION"]
        events = boto3.client("events", region_name=region)
        sqs = boto3.client("sqs", region_name=region)
        events.create_event_bus(Name=BUS)
        url = sqs.create_queue(QueueName="certificates-target")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        pattern = {"source": ["progress"], "detail-type": [RECORDED]}
        events.put_rule(
            Name="completion-recorded-to-certificates",
            EventBusName=BUS,
            EventPattern=orjson.dumps(pattern).decode(),
        )
        events.put_targets(
            Rule="completion-recorded-to-certificates",
            EventBusName=BUS,
            Targets=[{"Id": "certificates", "Arn": arn}],
        )
        yield Aws(events, sqs, url)


# ------------------------------------------------------------------------------ on moto


def test_only_matching_events_reach_the_target_with_the_envelope_as_detail(aws: Aws) -> None:
    bus = EventBridgeBus(aws.events, BUS)
    assert bus.publish([env(1, STORED), env(2), env(3, STORED)]) == [None, None, None]
    [event] = aws.received()
    assert event["detail"] == env(2)
    assert event["detail-type"] == RECORDED
    assert event["source"] == "progress"
    assert event["time"] == "2025-01-01T00:00:02Z"  # the envelope's time, to the second


def test_23_envelopes_go_in_requests_of_10_in_order(aws: Aws) -> None:
    envelopes = [env(n) for n in range(23)]
    assert EventBridgeBus(aws.events, BUS).publish(envelopes) == [None] * 23
    assert aws.calls == [10, 10, 3]
    assert sorted(e["detail"]["id"] for e in aws.received()) == sorted(f"e{n}" for n in range(23))


def test_requests_stay_under_256_kb(aws: Aws) -> None:
    big = [env(n, blob="x" * 100_000) for n in range(5)]
    assert EventBridgeBus(aws.events, BUS).publish(big) == [None] * 5
    assert aws.calls == [2, 2, 1]
    assert len(aws.received()) == 5


def test_an_envelope_too_large_fails_alone(aws: Aws) -> None:
    envelopes = [env(1), env(2, blob="x" * MAX_REQUEST_BYTES), env(3)]
    results = EventBridgeBus(aws.events, BUS).publish(envelopes)
    assert results[0] is None
    assert results[2] is None
    assert results[1] is not None
    assert "exceeds" in results[1]
    assert sorted(e["detail"]["id"] for e in aws.received()) == ["e1", "e3"]


def test_envelopes_that_cannot_be_events_fail_alone(aws: Aws) -> None:
    no_source = {**env(1), "source": ""}
    no_type = {k: v for k, v in env(2).items() if k != "type"}
    not_json = env(3, value={1, 2})  # a set: orjson refuses it
    results = EventBridgeBus(aws.events, BUS).publish([no_source, no_type, not_json, env(4)])
    assert results[0] == "envelope without a source"
    assert results[1] == "envelope without a type"
    assert results[2] is not None
    assert results[2].startswith("envelope is not JSON")
    assert results[3] is None
    assert [e["detail"]["id"] for e in aws.received()] == ["e4"]


def test_an_envelope_without_a_usable_time_is_still_published(aws: Aws) -> None:
    assert EventBridgeBus(aws.events, BUS).publish([{**env(1), "time": "yesterday"}]) == [None]
    assert [e["detail"]["id"] for e in aws.received()] == ["e1"]


def test_nothing_to_publish_makes_no_request(aws: Aws) -> None:
    assert EventBridgeBus(aws.events, BUS).publish([]) == []
    assert aws.calls == []


def test_an_unknown_bus_fails_every_entry_without_raising(aws: Aws) -> None:
    results = EventBridgeBus(aws.events, "no-such-bus").publish([env(1), env(2)])
    assert all(r is not None and r.startswith("ResourceNotFoundException") for r in results)


# ----------------------------------------------------------------- failures (Stubber)


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EventBridgeClient, Stubber]]:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    import boto3

    client = boto3.client("events", region_name=FAKE_ENV["AWS_DEFAULT_REGION"])
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_per_entry_errors_map_to_their_envelopes(
    stubbed: tuple[EventBridgeClient, Stubber],
) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 2,
            "Entries": [
                {"EventId": "a"},
                {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"},
                {"EventId": "c"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"},
            ],
        },
    )
    results = EventBridgeBus(client, BUS).publish([env(n) for n in range(4)])
    assert results == [
        None,
        "InternalFailure: try again",
        None,
        "ThrottlingException: Rate exceeded",
    ]


def test_a_short_response_fails_the_entries_it_omits(
    stubbed: tuple[EventBridgeClient, Stubber],
) -> None:
    client, stubber = stubbed
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "a"}]})
    results = EventBridgeBus(client, BUS).publish([env(1), env(2)])
    assert results[0] is None
    assert results[1] is not None


def test_a_throttled_request_fails_its_chunk_and_stops_the_rest(
    stubbed: tuple[EventBridgeClient, Stubber],
) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": str(n)} for n in range(10)]}
    )
    stubber.add_client_error(
        "put_events", service_error_code="ThrottlingException", service_message="Rate exceeded"
    )  # no third response: a third request would fail the test
    results = EventBridgeBus(client, BUS).publish([env(n) for n in range(25)])
    assert results[:MAX_ENTRIES] == [None] * MAX_ENTRIES
    assert results[10:20] == ["ThrottlingException: Rate exceeded"] * 10
    assert (
        results[20:]
        == ["not sent: an earlier request failed (ThrottlingException: Rate exceeded)"] * 5
    )


def test_a_network_error_fails_the_entries_without_raising(aws: Aws) -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://events.example")

    aws.events.meta.events.register("before-send.events.PutEvents", unreachable)
    results = EventBridgeBus(aws.events, BUS).publish([env(1), env(2)])
    assert results[0] is not None
    assert results[0].startswith("EndpointConnectionError")
    assert results[1] is not None


def test_entry_size_counts_as_eventbridge_does() -> None:
    assert entry_size({"Source": "progress", "DetailType": "t", "Detail": "{}"}) == 11
    assert entry_size({"Source": "é", "Detail": "{}", "Resources": ["arn:x"]}) == 9
    with_time: Any = {"Source": "s", "Time": object()}
    assert entry_size(with_time) == 15
