"""``ExportStore`` contract on every backend (memory, SQLite, DynamoDB/moto): a job commits with
its outbox row, writes are conditional on the version they replace, listings run newest first
and tenants never see each other's jobs. The ``kit`` fixture (tests/conftest.py) shares one
store and its outbox, read as the relay reads it (DynamoDB: the table's stream)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from progress.app.ports import Checkpoint, ExportJob, ExportPosition, VersionConflict
from progress.domain.errors import Conflict
from progress.domain.events import ExportRequested, envelope
from progress.domain.exports import DONE, QUEUED, RUNNING
from tests.conftest import ProgressKit

T1, T2 = "tenant-one", "tenant-two"
BASE = 1_750_000_000_000_000
LEARNER = "mbox:mailto:ann@example.com"


def job(n: int, tenant: str = T1, learner: str | None = None) -> ExportJob:
    return ExportJob.new(f"export-{n}", tenant, "statements", "ndjson", learner, BASE + n)


def requested(j: ExportJob, continuation: int = 0) -> dict[str, object]:
    return envelope(
        ExportRequested(
            j.tenant, j.id, j.kind, j.format, j.learner, j.created_us, continuation=continuation
        )
    )


def test_a_new_job_commits_with_its_outbox_row(kit: ProgressKit) -> None:
    """Given a job and its request event, when created, then both are there: the job reads
    back equal and the relay sees exactly that event."""
    j = job(1, learner=LEARNER)
    kit.exports.create(j, requested(j))
    assert kit.exports.get(T1, j.id) == j
    assert kit.read_outbox() == [requested(j)]


def test_the_same_id_twice_is_a_conflict_and_writes_nothing(kit: ProgressKit) -> None:
    j = job(1)
    kit.exports.create(j, requested(j))
    kit.read_outbox()
    other = replace(job(1, learner=LEARNER), created_us=BASE + 99)
    with pytest.raises(Conflict):
        kit.exports.create(other, requested(other))
    assert kit.exports.get(T1, j.id) == j
    assert kit.read_outbox() == []
    assert kit.exports.list(T1, None, 10)[0] == [j]


def test_an_update_replaces_exactly_the_version_it_was_made_from(kit: ProgressKit) -> None:
    j = job(1)
    kit.exports.create(j, requested(j))
    running = j.claim(BASE + 10, 45_000_000)
    kit.exports.update(running)
    assert kit.exports.get(T1, j.id) == running
    with pytest.raises(VersionConflict):
        kit.exports.update(j.claim(BASE + 11, 45_000_000))  # from the old version: refused
    skipped = replace(running, version=running.version + 2)
    with pytest.raises(VersionConflict):
        kit.exports.update(skipped)
    with pytest.raises(VersionConflict):
        kit.exports.update(job(2).claim(BASE, 1))  # no such job
    assert kit.exports.get(T1, j.id) == running


def test_progress_and_checkpoints_read_back(kit: ProgressKit) -> None:
    j = job(1)
    kit.exports.create(j, requested(j))
    cp = Checkpoint("upload-1", ((1, '"etag-1"'), (2, '"etag-2"')), (BASE, "s-9"), 1200, 10 << 20)
    beat = j.claim(BASE + 1, 10).heartbeat(BASE + 2, 10, 1500, cp)
    kit.exports.update(replace(beat, version=j.version + 1))
    got = kit.exports.get(T1, j.id)
    assert got is not None
    assert got.checkpoint == cp
    assert got.rows == 1500
    assert got.status == RUNNING
    done = got.finish(BASE + 3, 2000, "k/exports/x.ndjson", 123, "ab" * 32)
    kit.exports.update(done)
    assert kit.exports.get(T1, j.id) == done
    assert done.status == DONE
    assert done.checkpoint is None


def test_only_an_update_with_an_envelope_announces_something(kit: ProgressKit) -> None:
    """Progress updates publish nothing; a continuation publishes its event once."""
    j = job(1)
    kit.exports.create(j, requested(j))
    kit.read_outbox()
    running = j.claim(BASE + 1, 10)
    kit.exports.update(running)
    beat = running.heartbeat(BASE + 2, 10, 5)
    kit.exports.update(beat)
    assert kit.read_outbox() == []
    cp = Checkpoint("u", ((1, "t"),), (BASE, "s"), 5, 100)
    released = beat.release(BASE + 3, cp)
    kit.exports.update(released, requested(j, continuation=1))
    assert kit.read_outbox() == [requested(j, continuation=1)]
    kit.exports.update(released.claim(BASE + 4, 10))
    assert kit.read_outbox() == []


def test_listing_is_newest_first_paged_and_per_tenant(kit: ProgressKit) -> None:
    jobs = [job(n) for n in range(5)]
    for j in jobs:
        kit.exports.create(j, requested(j))
    theirs = job(9, tenant=T2)
    kit.exports.create(theirs, requested(theirs))
    page, position = kit.exports.list(T1, None, 2)
    assert [j.id for j in page] == ["export-4", "export-3"]
    assert position == ExportPosition(BASE + 3, "export-3")
    page, position = kit.exports.list(T1, position, 2)
    assert [j.id for j in page] == ["export-2", "export-1"]
    page, position = kit.exports.list(T1, position, 2)
    assert [j.id for j in page] == ["export-0"]
    assert position is None
    exact, last = kit.exports.list(T1, None, 5)
    assert len(exact) == 5
    assert last is None
    assert kit.exports.list(T2, None, 10) == ([theirs], None)
    assert kit.exports.list("nobody", None, 10) == ([], None)


def test_tenants_never_see_each_others_jobs(kit: ProgressKit) -> None:
    j = job(1)
    kit.exports.create(j, requested(j))
    assert kit.exports.get(T2, j.id) is None
    same_id = job(1, tenant=T2)
    kit.exports.create(same_id, requested(same_id))  # ids are per tenant
    assert kit.exports.get(T2, j.id) == same_id
    assert kit.exports.get(T1, j.id) == j
    assert kit.exports.get(T1, "export-404") is None
    assert j.status == QUEUED
