"""``EventBus`` on EventBridge: envelopes become events of one bus.

Each envelope is one entry: ``Source`` its source, ``DetailType`` its type, ``Detail`` the
whole envelope (so a rule's target receives ``{..., "detail": <envelope>}``) and ``Time`` its
time. Entries go in PutEvents requests of at most 10 entries and 256 KB (EventBridge's limits,
sized as EventBridge sizes them), one after the other. Nothing raises: an entry EventBridge
refused, an entry that cannot be sent (too large, no source or type) and every entry of a
request that failed whole (throttling, a network error) get their error text in the result,
and the caller retries or reports them. After a request fails whole, the later requests are
not sent (their entries fail too, saying so): publishing stays in order, and retrying the
failed entries in order reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from progress.app.ports import Envelope
from progress.domain.facts import parse_timestamp_us

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
_TIME_BYTES = 14  # EventBridge counts a Time as 14 bytes


def entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """The size EventBridge charges an entry against the 256 KB of a request."""
    size = _TIME_BYTES if "Time" in entry else 0
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        if isinstance(value, str):
            size += len(value.encode())
    size += sum(len(r.encode()) for r in entry.get("Resources", []))
    return size


class EventBridgeBus:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, envelopes: Sequence[Envelope]) -> list[str | None]:
        results: list[str | None] = [None] * len(envelopes)
        sendable: list[tuple[int, PutEventsRequestEntryTypeDef, int]] = []
        for index, envelope in enumerate(envelopes):
            entry, problem = self._entry(envelope)
            if problem is not None:
                results[index] = problem
                continue
            size = entry_size(entry)
            if size > MAX_REQUEST_BYTES:
                results[index] = f"event of {size} bytes exceeds the {MAX_REQUEST_BYTES} limit"
                continue
            sendable.append((index, entry, size))
        failed: str | None = None
        for chunk in _chunks(sendable):
            indexes = [i for i, _, _ in chunk]
            if failed is not None:  # keep the order: nothing goes out after a failed request
                for index in indexes:
                    results[index] = f"not sent: an earlier request failed ({failed})"
                continue
            errors, failed = self._put([e for _, e, _ in chunk])
            for index, error in zip(indexes, errors, strict=True):
                results[index] = error
        return results

    def _entry(self, envelope: Envelope) -> tuple[PutEventsRequestEntryTypeDef, str | None]:
        source, detail_type = envelope.get("source"), envelope.get("type")
        if not isinstance(source, str) or not source:
            return {}, "envelope without a source"
        if not isinstance(detail_type, str) or not detail_type:
            return {}, "envelope without a type"
        try:
            detail = orjson.dumps(envelope).decode()
        except TypeError as error:
            return {}, f"envelope is not JSON: {error}"
        entry: PutEventsRequestEntryTypeDef = {
            "EventBusName": self._bus,
            "Source": source,
            "DetailType": detail_type,
            "Detail": detail,
        }
        at_us = parse_timestamp_us(envelope.get("time"))
        if at_us is not None:
            seconds, micros = divmod(at_us, 1_000_000)
            entry["Time"] = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)
        return entry, None

    def _put(
        self, entries: list[PutEventsRequestEntryTypeDef]
    ) -> tuple[list[str | None], str | None]:
        """One PutEvents request: per entry None (accepted) or the error; and the error of the
        request as a whole, if it failed so."""
        try:
            response = self._client.put_events(Entries=entries)
        except ClientError as error:
            details: Any = error.response.get("Error", {})
            text = f"{details.get('Code', 'ClientError')}: {details.get('Message', str(error))}"
            return [text] * len(entries), text
        except BotoCoreError as error:
            text = f"{type(error).__name__}: {error}"
            return [text] * len(entries), text
        results = response.get("Entries", [])
        out: list[str | None] = []
        for n in range(len(entries)):
            result = results[n] if n < len(results) else None
            if result is None:
                out.append("no result for this entry in the PutEvents response")
            elif result.get("ErrorCode") or result.get("ErrorMessage"):
                out.append(f"{result.get('ErrorCode', 'Error')}: {result.get('ErrorMessage', '')}")
            else:
                out.append(None)
        return out, None


def _chunks(
    items: list[tuple[int, PutEventsRequestEntryTypeDef, int]],
) -> Iterator[list[tuple[int, PutEventsRequestEntryTypeDef, int]]]:
    """Runs of at most MAX_ENTRIES entries and MAX_REQUEST_BYTES, in order."""
    chunk: list[tuple[int, PutEventsRequestEntryTypeDef, int]] = []
    size = 0
    for item in items:
        if chunk and (len(chunk) == MAX_ENTRIES or size + item[2] > MAX_REQUEST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item[2]
    if chunk:
        yield chunk
