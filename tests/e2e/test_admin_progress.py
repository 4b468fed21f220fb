"""The admin API over real HTTP on progress the pipeline derived (SQLite and DynamoDB/moto):
attempts and completions page by page, the tenant's learners page by page and a learner's
summary, the transcript as JSON and PDF, and an export whose download equals what is listed."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

from progress.local.server import Running
from tests.e2e.conftest import COURSE, call, statement

ZOE = json.dumps({"mbox": "mailto:zoe@example.com"})


def _sessions(lrs: Running, n: int) -> None:
    batch = []
    for _ in range(n):
        sid = str(uuid.uuid4())
        batch += [
            statement("initialized", sid),
            statement("completed", sid, result={"completion": True, "duration": "PT5M"}),
            statement("terminated", sid),
        ]
    assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200
    lrs.pump.drain()


def _get(lrs: Running, path: str, **params: str) -> dict[str, Any]:
    query = urllib.parse.urlencode(params)
    status, body, _ = call(lrs, "GET", f"{path}?{query}" if query else path)
    assert status == 200, body
    data: dict[str, Any] = json.loads(body)
    return data


def test_admin_pages_attempts_and_completions_of_a_learner_and_an_activity(lrs: Running) -> None:
    _sessions(lrs, 5)
    base = "/admin/tenants/default"
    for path, params in (
        (f"{base}/attempts", {"agent": ZOE}),
        (f"{base}/completions", {"activity": COURSE}),
    ):
        ids: list[str] = []
        page = _get(lrs, path, limit="2", **params)
        while True:
            items = page["items"]
            assert isinstance(items, list)
            ids += [item["id"] for item in items]
            assert all(item["completion"]["completed"] for item in items)
            if page["next"] is None:
                break
            page = _get(lrs, path, cursor=str(page["next"]), limit="2")
        assert len(ids) == len(set(ids)) == 5, path
    learner = _get(lrs, f"{base}/learners", agent=ZOE)
    assert learner["learner"] == {"id": "mbox:mailto:zoe@example.com", "name": "Zoë Ωmega"}
    assert learner["totals"]["completions"] == 5


def test_admin_lists_the_learners_the_pipeline_derived_page_by_page(lrs: Running) -> None:
    _sessions(lrs, 2)
    others = [
        {"objectType": "Agent", "account": {"homePage": "https://lms.example.com", "name": "kai"}},
        {"objectType": "Agent", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
    ]
    batch = [statement("initialized", str(uuid.uuid4()), actor=a) for a in others]
    assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200
    lrs.pump.drain()
    path = "/admin/tenants/default/learners"
    seen: list[dict[str, Any]] = []
    page = _get(lrs, path, limit="1")
    while True:
        seen += page["items"]
        if page["next"] is None:
            break
        page = _get(lrs, path, cursor=str(page["next"]), limit="1")
    assert sorted(item["id"] for item in seen) == [
        "acct:https://lms.example.com|kai",
        "mbox:mailto:zoe@example.com",
        "sha1:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
    ]
    zoe = next(item for item in seen if item["id"] == "mbox:mailto:zoe@example.com")
    assert zoe["agent"] == {"mbox": "mailto:zoe@example.com"}
    summary = _get(lrs, zoe["learner"])  # the path it names: the lookup by agent
    assert summary["learner"] == {"id": "mbox:mailto:zoe@example.com", "name": "Zoë Ωmega"}
    assert summary["totals"]["completions"] == 2
    assert _get(lrs, zoe["transcript"])["totals"]["completions"] == 2
    kai = next(item for item in seen if item["id"].startswith("acct:"))
    assert kai["agent"] == {"account": {"homePage": "https://lms.example.com", "name": "kai"}}


def test_admin_transcript_is_json_or_pdf(lrs: Running) -> None:
    _sessions(lrs, 2)
    path = "/admin/tenants/default/transcript"
    data = _get(lrs, path, agent=ZOE)
    assert data["totals"]["completions"] == 2
    assert str(data["verify_url"]).startswith("http://")
    query = urllib.parse.urlencode({"agent": ZOE, "format": "pdf"})
    status, pdf, headers = call(lrs, "GET", f"{path}?{query}")
    assert status == 200
    assert pdf.startswith(b"%PDF-")
    assert headers["Content-Type"] == "application/pdf"
    docx = urllib.parse.urlencode({"agent": ZOE, "format": "docx"})
    assert call(lrs, "GET", f"{path}?{docx}")[0] == 400


def test_an_export_requested_over_the_admin_api_downloads_what_was_stored(lrs: Running) -> None:
    _sessions(lrs, 3)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    request = {"kind": "statements", "format": "ndjson", "agent": json.loads(ZOE)}
    status, body, headers = call(
        lrs, "POST", "/admin/tenants/default/exports", request, headers=key
    )
    assert status == 202, body
    job = json.loads(body)
    again = call(lrs, "POST", "/admin/tenants/default/exports", request, headers=key)
    assert json.loads(again[1])["id"] == job["id"]  # a replay: one job, not two
    assert headers["Location"] == f"/admin/tenants/default/exports/{job['id']}"
    lrs.pump.drain()
    done = _get(lrs, headers["Location"])
    assert done["status"] == "done", done
    assert done["progress"] == {"rows": 9, "total": 9}
    listed = _get(lrs, "/admin/tenants/default/exports")
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    url = done["download"]["url"]
    with urllib.request.urlopen(url, timeout=30) as response:
        lines = response.read().splitlines()
    stored = {json.loads(line)["id"] for line in lines}
    status, body, _ = call(lrs, "GET", "/xapi/statements?" + urllib.parse.urlencode({"agent": ZOE}))
    assert stored == {s["id"] for s in json.loads(body)["statements"]}
