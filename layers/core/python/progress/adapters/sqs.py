"""``DeadLetters`` on SQS: one queue per consumer.

On AWS each queue is the dead-letter queue of a consumer Lambda's asynchronous invocations.
When the third attempt fails, Lambda sends the event it was invoked with, unchanged, as the
message body (for our consumers: an EventBridge event whose ``detail`` is our envelope) with the
message attributes ``RequestID`` (String), ``ErrorCode`` (Number) and ``ErrorMessage`` (String,
cut to 1 KB). ``add`` writes that same shape, plus ``Attempts`` and ``FailedUs`` (Number), so
``list`` reads both alike:

* ``id`` is the SQS MessageId, ``consumer`` the queue's consumer;
* ``envelope`` is the body's ``detail``; a body of another shape is listed all the same, as
  ``{"body": <the body>}`` with a ``reason`` that says why, never raising;
* ``reason`` is ``ErrorMessage`` (empty when absent);
* ``attempts`` is ``Attempts``, else 3 (Lambda's default: one call and two retries);
* ``failed_us`` is ``FailedUs``, else ``SentTimestamp`` × 1000.

``list`` reads without consuming: it receives every message of the queues (10 at a time, hiding
each for ``visibility_timeout_s`` so that no message is received twice in one pass), then makes
them all visible again at once, so another ``list`` right after sees the same letters. SQS gives
no order, so the letters are sorted by (failed_us, id) after the pass; a pass stops early only
after ``scan_limit`` messages, when the order is that of the messages seen.

``remove`` deletes with the receipt handles the last ``list`` of this adapter received. Ids it
has no handle for are looked for by a fresh pass over the queues; ids found nowhere are ignored
(already removed). SQS accepts a stale handle (one superseded because another reader received
the message since) without deleting the message: it is then listed again and can be removed
again.

Short polling (``WaitTimeSeconds=0``) samples only some SQS servers, so on AWS an empty receive
does not prove a queue empty; the default ``wait_time_s=1`` long-polls, which asks all of them.
``create_local`` (moto, one server) uses 0.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import orjson

from progress.app.ports import DeadLetter, Envelope
from progress.domain.facts import parse_timestamp_us

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

DEFAULT_ATTEMPTS = 3
_BATCH = 10  # SQS's most messages per receive / batch request
_MAX_REASON = 8_192  # characters of a reason ``add`` keeps (Lambda keeps 1 KB)
# What SQS accepts in a message attribute (XML 1.0 characters); the rest becomes U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class _Received:
    letter: DeadLetter
    queue_url: str
    receipt_handle: str


class SqsDeadLetters:
    def __init__(
        self,
        client: SQSClient,
        queues: Mapping[str, str],
        *,
        visibility_timeout_s: int = 30,
        wait_time_s: int = 1,
        scan_limit: int = 10_000,
    ) -> None:
        """``queues``: consumer name -> queue URL."""
        self._client = client
        self._queues = dict(queues)
        self._visibility = visibility_timeout_s
        self._wait = wait_time_s
        self._scan_limit = scan_limit
        self._lock = threading.Lock()
        self._handles: dict[str, tuple[str, str]] = {}  # message id -> (queue url, handle)
        self._last_us = 0

    @classmethod
    def create_local(cls, consumers: Sequence[str], *, prefix: str = "progress") -> SqsDeadLetters:
        """Create one queue per consumer (``<prefix>-<consumer>-dlq``) in an already running
        moto (or any SQS the default session reaches) and return the adapter over them."""
        import boto3

        client = boto3.client("sqs", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        queues = {
            consumer: client.create_queue(QueueName=f"{prefix}-{consumer}-dlq")["QueueUrl"]
            for consumer in consumers
        }
        return cls(client, queues, wait_time_s=0)

    # ------------------------------------------------------------------------------- port

    def add(self, consumer: str, envelope: Envelope, reason: str, attempts: int) -> None:
        url = self._queue(consumer)
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "Attempts": {"DataType": "Number", "StringValue": str(attempts)},
            "FailedUs": {"DataType": "Number", "StringValue": str(self._now_us())},
        }
        if reason:  # SQS rejects empty attribute values
            attributes["ErrorMessage"] = {
                "DataType": "String",
                "StringValue": _NOT_XML.sub("\ufffd", reason[:_MAX_REASON]),
            }
        self._client.send_message(
            QueueUrl=url,
            MessageBody=orjson.dumps(self._event(url, envelope)).decode(),
            MessageAttributes=attributes,
        )

    def list(self, consumer: str | None, limit: int) -> list[DeadLetter]:
        if consumer is not None and consumer not in self._queues:
            return []
        consumers = list(self._queues) if consumer is None else [consumer]
        received = [r for name in consumers for r in self._pass(name)]
        with self._lock:
            for r in received:
                self._handles[r.letter.id] = (r.queue_url, r.receipt_handle)
        letters = sorted((r.letter for r in received), key=lambda d: (d.failed_us, d.id))
        return letters[: max(limit, 0)]

    def remove(self, ids: Collection[str]) -> None:
        wanted = set(ids)
        if not wanted:
            return
        with self._lock:
            known = {i: self._handles.pop(i) for i in wanted if i in self._handles}
        by_queue: dict[str, list[str]] = {}
        for url, handle in known.values():
            by_queue.setdefault(url, []).append(handle)
        unknown = wanted - known.keys()
        if unknown:
            for name in self._queues:
                for r in self._pass(name):
                    if r.letter.id in unknown:
                        by_queue.setdefault(r.queue_url, []).append(r.receipt_handle)
        for url, handles in by_queue.items():
            self._delete(url, handles)

    # ---------------------------------------------------------------------------- helpers

    def _queue(self, consumer: str) -> str:
        try:
            return self._queues[consumer]
        except KeyError:
            raise ValueError(f"{consumer}: no dead-letter queue for this consumer") from None

    def _now_us(self) -> int:
        """Wall-clock microseconds, strictly increasing in this adapter: letters added one
        after the other list in that order even within one millisecond."""
        with self._lock:
            self._last_us = max(time.time_ns() // 1_000, self._last_us + 1)
            return self._last_us

    def _event(self, queue_url: str, envelope: Envelope) -> dict[str, Any]:
        """The EventBridge event a consumer Lambda would have been invoked with."""
        at_us = parse_timestamp_us(envelope.get("time"))
        if at_us is None:
            at_us = time.time_ns() // 1_000
        at = datetime.fromtimestamp(at_us // 1_000_000, tz=UTC)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": envelope.get("type"),
            "source": envelope.get("source"),
            "account": _account_of(queue_url),
            "time": f"{at:%Y-%m-%dT%H:%M:%SZ}",
            "region": self._client.meta.region_name,
            "resources": [],
            "detail": envelope,
        }

    def _pass(self, consumer: str) -> tuple[_Received, ...]:
        """Every message of the consumer's queue (up to ``scan_limit``), then made visible."""
        url = self._queues[consumer]
        seen: dict[str, _Received] = {}
        try:
            for message in self._receive_all(url):
                letter = _letter(consumer, message)
                seen[letter.id] = _Received(letter, url, message["ReceiptHandle"])
        finally:
            self._release(url, [r.receipt_handle for r in seen.values()])
        return tuple(seen.values())

    def _receive_all(self, url: str) -> Iterator[MessageTypeDef]:
        count = 0
        while count < self._scan_limit:
            messages = self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(_BATCH, self._scan_limit - count),
                VisibilityTimeout=self._visibility,
                WaitTimeSeconds=self._wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["SentTimestamp"],
            ).get("Messages", [])
            if not messages:
                return
            count += len(messages)
            yield from messages

    def _release(self, url: str, handles: Sequence[str]) -> None:
        """Make received messages visible again now (failures just wait out the timeout)."""
        for chunk in _chunks(handles):
            self._client.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for n, h in enumerate(chunk)
                ],
            )

    def _delete(self, url: str, handles: Sequence[str]) -> None:
        for chunk in _chunks(handles):
            self._client.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(chunk)],
            )


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, _BATCH)):
        yield chunk


def _account_of(queue_url: str) -> str:
    """The account of ``https://sqs.<region>.amazonaws.com/<account>/<name>``."""
    parts = urlparse(queue_url).path.strip("/").split("/")
    return parts[0] if len(parts) == 2 else ""


def _attribute(message: MessageTypeDef, name: str) -> str | None:
    attribute = message.get("MessageAttributes", {}).get(name)
    return None if attribute is None else attribute.get("StringValue")


def _int_attribute(message: MessageTypeDef, name: str) -> int | None:
    value = _attribute(message, name)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _letter(consumer: str, message: MessageTypeDef) -> DeadLetter:
    """A received message as a dead letter, whatever its body holds."""
    error = _attribute(message, "ErrorMessage") or ""
    failed_us = _int_attribute(message, "FailedUs")
    if failed_us is None:
        sent_ms = message.get("Attributes", {}).get("SentTimestamp") or "0"
        failed_us = int(sent_ms) * 1_000 if sent_ms.isdigit() else 0
    attempts = _int_attribute(message, "Attempts")
    body = message.get("Body", "")
    envelope, problem = _envelope_of(body)
    reason = error if problem is None else f"{problem}; {error}" if error else problem
    return DeadLetter(
        id=message["MessageId"],
        consumer=consumer,
        envelope=envelope,
        reason=reason,
        failed_us=failed_us,
        attempts=DEFAULT_ATTEMPTS if attempts is None else attempts,
    )


def _envelope_of(body: str) -> tuple[Envelope, str | None]:
    """(envelope, None) from an EventBridge event carrying one, else ({"body": ...}, why)."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return {"body": body}, f"unreadable dead letter: body is not JSON ({error})"
    if not isinstance(event, dict):
        return {"body": event}, "unreadable dead letter: body is not a JSON object"
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return {"body": event}, "unreadable dead letter: body is not an event with a detail object"
    return detail, None
