"""Export rows (CSV with the formula-injection guard, NDJSON byte-exact), the export job's
transition table, and the signed download tokens."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.app.exports import (
    COLUMNS,
    csv_cell,
    csv_line,
    header,
    line,
    sign_token,
    verify_token,
)
from progress.domain.errors import Forbidden, Gone
from progress.domain.exports import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    TRANSITIONS,
    Checkpoint,
    ExportJob,
    InvalidExportTransition,
)
from progress.domain.statements import StoredStatement

T0 = 1_767_261_600_000_000
KEY = b"0123456789abcdef0123456789abcdef"


def stored(body: dict[str, Any], *, voided: bool = False) -> StoredStatement:
    raw = orjson.dumps(body)
    return StoredStatement(body["id"], T0, raw, (frozenset(),), voided=voided)


BODY: dict[str, Any] = {
    "id": "6f1c1c52-9a57-4c5e-8d83-1d0c8a1e0b0f",
    "actor": {"mbox": "mailto:Ann@Example.com", "name": 'Ann "the, best"\nSmith'},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
    "object": {"id": "http://example.com/course"},
    "result": {"success": True, "completion": False, "score": {"scaled": -0.25, "raw": 3}},
    "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"},
    "stored": "2026-01-01T10:00:00.000000Z",
    "timestamp": "2026-01-01T09:59:00.000Z",
}


# ------------------------------------------------------------------------------ CSV cells


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 1234", "'+31 6 1234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-0.5, -0.5),
        (-3, -3),
    ],
)
def test_csv_cells_defuse_formulas_and_keep_numbers(value: object, cell: object) -> None:
    """OWASP CSV Injection: cells starting with = + - @ tab CR get a leading quote; numbers we
    produce (a negative score) stay numbers."""
    assert csv_cell(value) == cell


@given(st.lists(st.text(), max_size=5))
def test_any_text_round_trips_through_a_csv_line_guarded(values: list[str]) -> None:
    (parsed,) = list(csv.reader(io.StringIO(csv_line(values).decode(), newline="")))
    assert parsed == [str(csv_cell(v)) for v in values] or values == []
    for cell in parsed:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_lines_end_in_crlf_as_rfc_4180_says() -> None:
    assert csv_line(["a", "b,c"]) == b'a,"b,c"\r\n'
    assert header("statements", "csv").startswith(b"id,stored,timestamp,actor,")
    assert header("statements", "ndjson") == b""


# ------------------------------------------------------------------------------ rows


def test_an_ndjson_statement_line_is_the_stored_bytes_and_a_newline() -> None:
    s = stored(BODY)
    assert line("statements", "ndjson", s) == s.body + b"\n"


def test_a_csv_statement_row_flattens_and_ends_with_the_exact_statement() -> None:
    s = stored(BODY, voided=True)
    text = (header("statements", "csv") + line("statements", "csv", s)).decode()
    head, row = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(head) == COLUMNS["statements"]
    got = dict(zip(head, row, strict=True))
    assert got == {
        "id": BODY["id"],
        "stored": "2026-01-01T10:00:00.000000Z",
        "timestamp": "2026-01-01T09:59:00.000Z",
        "actor": "mbox:mailto:Ann@example.com",
        "actor_name": 'Ann "the, best"\nSmith',
        "verb": "http://adlnet.gov/expapi/verbs/passed",
        "object_type": "Activity",
        "object": "http://example.com/course",
        "result_success": "true",
        "result_completion": "false",
        "result_score_scaled": "-0.25",
        "result_score_raw": "3",
        "result_score_min": "",
        "result_score_max": "",
        "result_duration": "",
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "voided": "true",
        "statement": s.body.decode(),
    }


@pytest.mark.parametrize(
    ("obj", "kind", "target"),
    [
        ({"objectType": "Agent", "mbox": "mailto:b@x.org"}, "Agent", "mbox:mailto:b@x.org"),
        ({"objectType": "StatementRef", "id": "abc"}, "StatementRef", "abc"),
        ({"objectType": "SubStatement", "actor": {}}, "SubStatement", ""),
    ],
)
def test_csv_objects_other_than_activities(obj: dict[str, Any], kind: str, target: str) -> None:
    row = next(
        csv.reader(io.StringIO(line("statements", "csv", stored({**BODY, "object": obj})).decode()))
    )
    columns = COLUMNS["statements"]
    assert row[columns.index("object_type")] == kind
    assert row[columns.index("object")] == target


# ------------------------------------------------------------------------------ the job


def job() -> ExportJob:
    return ExportJob.new("e1", "acme corp/eu", "attempts", "csv", None, T0)


def test_a_new_job_is_queued_with_a_safe_filename() -> None:
    j = job()
    assert (j.status, j.version, j.rows, j.runs) == (QUEUED, 1, 0, 0)
    assert j.filename == "acme_corp_eu-attempts-e1.csv"
    assert j.content_type == "text/csv; charset=utf-8; header=present"
    with pytest.raises(ValueError, match="kind"):
        ExportJob.new("e", "t", "documents", "csv", None, T0)
    with pytest.raises(ValueError, match="format"):
        ExportJob.new("e", "t", "attempts", "xlsx", None, T0)


def test_every_change_is_a_new_version_through_the_transition_table() -> None:
    j = job()
    running = j.claim(T0 + 1, 10)
    assert (running.status, running.version, running.runs) == (RUNNING, 2, 1)
    assert running.lease_alive(T0 + 5)
    assert not running.lease_alive(T0 + 11)
    with pytest.raises(InvalidExportTransition):
        running.claim(T0 + 5, 10)  # held by a live worker
    taken = running.claim(T0 + 11, 10)  # the lease ran out: a takeover
    assert (taken.version, taken.runs) == (3, 2)
    cp = Checkpoint("u", ((1, "t"),), (T0, "s"), 7, 70)
    released = taken.heartbeat(T0 + 12, 10, 9, cp).release(T0 + 13, cp)
    assert (released.lease_until_us, released.rows, released.checkpoint) == (None, 7, cp)
    resumed = released.claim(T0 + 13, 10)
    assert resumed.rows == 7  # progress restarts from the checkpoint
    done = resumed.finish(T0 + 20, 12, "k", 100, "00")
    assert (done.status, done.total, done.checkpoint, done.lease_until_us) == (DONE, 12, None, None)
    for terminal in (done, job().fail(T0, "x")):
        assert TRANSITIONS[terminal.status] == frozenset()
        with pytest.raises(InvalidExportTransition):
            terminal.claim(T0 + 100, 10)
        with pytest.raises(InvalidExportTransition):
            terminal.fail(T0 + 100, "again")


def test_a_failure_reason_is_kept_short() -> None:
    failed = job().fail(T0, "x" * 2000)
    assert failed.status == FAILED
    assert failed.error is not None
    assert len(failed.error) == 500


def test_a_job_survives_its_storage_form() -> None:
    cp = Checkpoint("u", ((1, '"a"'), (2, '"b"')), (T0, "s-1"), 5, 9)
    j = job().claim(T0, 10).heartbeat(T0 + 1, 10, 5, cp)
    assert ExportJob.restore(orjson.loads(orjson.dumps(j.snapshot()))) == j


# ------------------------------------------------------------------------------ tokens


def test_a_token_verifies_until_it_expires() -> None:
    token = sign_token(KEY, "acme", "e1", 1000)
    assert verify_token(KEY, token, 999) == ("acme", "e1")
    with pytest.raises(Gone):
        verify_token(KEY, token, 1000)


@given(st.integers(0, 200), st.sampled_from("AbZ09-_."))
def test_any_changed_character_makes_a_token_tampered(at: int, char: str) -> None:
    token = sign_token(KEY, "acme", "e1", 2**40)
    i = at % len(token)
    changed = token[:i] + char + token[i + 1 :]
    if changed == token:
        return
    with pytest.raises(Forbidden):
        verify_token(KEY, changed, 0)


def test_an_expired_forgery_is_tampered_not_expired() -> None:
    """Only a genuine token may be called expired: the signature is checked first."""
    forged = sign_token(b"another key of enough bytes....", "acme", "e1", 1)
    with pytest.raises(Forbidden):
        verify_token(KEY, forged, 10)
