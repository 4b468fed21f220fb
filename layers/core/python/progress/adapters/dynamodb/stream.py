"""The dispatch side of the DynamoDB outbox: the table's stream. Rules: docs/dynamodb-design.md,
"Progress: attempts, outbox, inbox".

An item's ``outbox`` attribute holds the envelopes its latest write announces. The relay publishes
them from the stream record of that write: an INSERT's new image, or a MODIFY's new image when its
``outbox`` differs from the old image's (an update that leaves the outbox alone -- ``inherit`` on
a Statement, a write that announces nothing -- publishes nothing). REMOVE records (rollbacks, TTL
expiry, ``clear``) publish nothing.

``outbox_envelopes`` reads one record as the relay Lambda receives it. ``StreamReader`` plays
"DynamoDB Streams -> Lambda" where nothing delivers the stream (local mode on moto, tests): it
polls the stream with the ``dynamodbstreams`` API and hands out records in Lambda's shape.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import orjson

from progress.adapters.dynamodb.table import OUTBOX_ATTRIBUTE

_GET_RECORDS_LIMIT: Final = 1000  # the GetRecords maximum


def outbox_envelopes(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The envelopes one stream record asks the relay to publish, in the order written.

    ``record`` is one element of a Lambda DynamoDB stream event's ``Records`` (Binary values as
    base64 strings) or a record as boto3's ``get_records`` returns it (Binary values as bytes).
    """
    change = record.get("dynamodb") or {}
    name = record.get("eventName")
    if name == "INSERT":
        rows = _outbox(change.get("NewImage"))
    elif name == "MODIFY":
        rows = _outbox(change.get("NewImage"))
        if rows == _outbox(change.get("OldImage")):
            return []
    else:
        return []
    return [orjson.loads(row) for row in rows]


def _outbox(image: Mapping[str, Any] | None) -> list[bytes]:
    if not image or OUTBOX_ATTRIBUTE not in image:
        return []
    return [_binary(value["B"]) for value in image[OUTBOX_ATTRIBUTE]["L"]]


def _binary(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else base64.b64decode(value)


class StreamReader:
    """Reads a table's stream across all its shards, each record once, in Lambda's shape.

    ``streams`` is a boto3 ``dynamodbstreams`` client. Every ``poll`` re-opens each shard after
    the last sequence number it returned (TRIM_HORIZON until then) instead of keeping
    ``NextShardIterator``: iterators expire after 15 minutes on AWS, and on moto an iterator stops
    seeing new records once any transaction on the table has been cancelled (moto restores the
    table from a copy, stream included). Shards whose parent is still open wait for it, so a key's
    records come out in order when shards split.
    """

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self._streams = streams
        self._arn = stream_arn
        self._last: dict[str, str] = {}  # shard id -> last sequence number returned
        self._closed: set[str] = set()  # shards read to their end

    @classmethod
    def for_table(cls, table_name: str, *, region: str | None = None) -> StreamReader:
        import boto3  # only local mode and tests read the stream themselves

        dynamodb = boto3.client("dynamodb", region_name=region)
        arn = dynamodb.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
        if arn is None:
            raise ValueError(f"table {table_name} has no stream")
        return cls(boto3.client("dynamodbstreams", region_name=region), arn)

    @property
    def stream_arn(self) -> str:
        return self._arn

    def poll(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to ``limit`` records written since the previous poll, as Lambda would deliver
        them (``eventSource``, ``eventSourceARN``, base64 Binary values, epoch-second
        ``ApproximateCreationDateTime``)."""
        out: list[dict[str, Any]] = []
        shards = self._shards()
        listed = {shard_id for shard_id, _ in shards}
        for shard_id, parent in shards:
            if len(out) >= limit:
                break
            if shard_id in self._closed:
                continue
            if parent is not None and parent in listed and parent not in self._closed:
                continue  # the parent's records first
            self._read(shard_id, limit, out)
        return out

    @staticmethod
    def envelopes(record: Mapping[str, Any]) -> list[dict[str, Any]]:
        return outbox_envelopes(record)

    def _shards(self) -> list[tuple[str, str | None]]:
        """(shard id, parent shard id) of every shard of the stream, oldest first."""
        shards: list[tuple[str, str | None]] = []
        request: dict[str, Any] = {"StreamArn": self._arn}
        while True:
            description = self._streams.describe_stream(**request)["StreamDescription"]
            shards += [(s["ShardId"], s.get("ParentShardId")) for s in description["Shards"]]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            request["ExclusiveStartShardId"] = last

    def _read(self, shard_id: str, limit: int, out: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {"StreamArn": self._arn, "ShardId": shard_id}
        if shard_id in self._last:
            request |= {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": self._last[shard_id],
            }
        else:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = self._streams.get_shard_iterator(**request).get("ShardIterator")
        while iterator is not None and len(out) < limit:
            response = self._streams.get_records(
                ShardIterator=iterator, Limit=min(_GET_RECORDS_LIMIT, limit - len(out))
            )
            records = response["Records"]
            for raw in records:
                out.append(self._lambda_record(raw))
                self._last[shard_id] = raw["dynamodb"]["SequenceNumber"]
            iterator = response.get("NextShardIterator")
            if not records:
                break  # caught up with an open shard
        if iterator is None:
            self._closed.add(shard_id)

    def _lambda_record(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        change = dict(raw["dynamodb"])
        when = change.get("ApproximateCreationDateTime")
        if isinstance(when, datetime):
            change["ApproximateCreationDateTime"] = int(when.timestamp())
        for image in ("Keys", "NewImage", "OldImage"):
            if image in change:
                change[image] = {name: _json_value(v) for name, v in change[image].items()}
        record = {**raw, "dynamodb": change}
        identity = raw.get("userIdentity")
        if identity is not None:  # boto3: PrincipalId/Type; Lambda: principalId/type
            record["userIdentity"] = {k[0].lower() + k[1:]: v for k, v in identity.items()}
        record["eventSource"] = "aws:dynamodb"
        record["eventSourceARN"] = self._arn
        return record


def _json_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """One attribute value in the JSON form Lambda delivers: Binary as base64 text."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": _text(inner)}
    if kind == "BS":
        return {"BS": [_text(b) for b in inner]}
    if kind == "L":
        return {"L": [_json_value(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _json_value(v) for k, v in inner.items()}}
    return {kind: inner}


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")
