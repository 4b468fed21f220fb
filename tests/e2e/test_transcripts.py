"""Transcripts over real HTTP (the local runtime, SQLite and DynamoDB/moto): JSON content,
language, filters, the digest, the PDF, and bad input."""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from typing import Any

from progress.local.server import Running
from tests.e2e.conftest import call, statement

ANN = json.dumps({"mbox": "mailto:zoe@example.com"})
OTHER = "https://example.com/courses/fire-safety"


def session(
    verb_results: list[tuple[str, dict[str, Any]]], activity: str | None = None
) -> list[dict[str, Any]]:
    sid = str(uuid.uuid4())
    out = []
    for verb, result in verb_results:
        s = statement(verb, sid, **({"result": result} if result else {}))
        if activity is not None:
            s["object"] = {
                "id": activity,
                "definition": {"name": {"en-US": "Fire safety", "fr-FR": "Sécurité incendie"}},
            }
        out.append(s)
    return out


def transcript(
    lrs: Running, headers: dict[str, str] | None = None, **params: str
) -> tuple[int, bytes]:
    query = urllib.parse.urlencode({"agent": ANN, **params})
    status, body, _ = call(lrs, "GET", f"/progress/transcript?{query}", headers=headers)
    return status, body


def test_a_learners_transcript(lrs: Running) -> None:
    batches = [
        session(
            [
                ("initialized", {}),
                ("passed", {"success": True, "score": {"scaled": 0.9}, "duration": "PT1H"}),
                ("terminated", {}),
            ]
        ),
        session(
            [
                ("initialized", {}),
                ("completed", {"completion": True, "duration": "PT20M"}),
                ("terminated", {}),
            ],
            OTHER,
        ),
        session([("initialized", {})], OTHER),  # still in progress
    ]
    for batch in batches:
        assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200
    lrs.pump.drain()

    status, body = transcript(lrs)
    assert status == 200, body
    data = json.loads(body)
    assert data["learner"] == {"id": "mbox:mailto:zoe@example.com", "name": "Zoë Ωmega"}
    assert data["totals"] == {
        "completions": 2,
        "passed": 1,
        "failed": 0,
        "in_progress": 1,
        "duration": "PT1H20M",
    }
    newest, oldest = data["completions"]
    assert (newest["activity_name"], newest["status"]) == ("Fire safety", "completed")
    assert (oldest["activity_name"], oldest["status"], oldest["score"]) == (
        "Safety 101",
        "passed",
        {"scaled": 0.9},
    )
    assert oldest["certificate"].startswith(lrs.url.removesuffix("/xapi") + "/certificates/")
    assert data["in_progress"][0]["activity_id"] == OTHER
    assert data["digest"].startswith("sha256:")

    again = json.loads(transcript(lrs)[1])
    assert again["digest"] == data["digest"]  # the content, not the generation time

    french = json.loads(transcript(lrs, {"Accept-Language": "fr-FR"})[1])
    assert french["completions"][0]["activity_name"] == "Sécurité incendie"
    assert french["digest"] != data["digest"]

    status, pdf = transcript(lrs, {"Accept": "application/pdf"})
    assert status == 200
    assert pdf.startswith(b"%PDF-")
    assert transcript(lrs, format="pdf")[1][:5] == b"%PDF-"

    only = json.loads(transcript(lrs, activity=OTHER)[1])
    assert [c["activity_id"] for c in only["completions"]] == [OTHER]
    future = json.loads(transcript(lrs, since="2999-01-01T00:00:00Z")[1])
    assert future["completions"] == []
    assert future["totals"]["in_progress"] == 1


def test_certificate_links_lead_to_issued_certificates(lrs: Running) -> None:
    """Each certificate link of a transcript opens the certificate the consumer issued; a
    completion that earned none (failed only) has no link rather than a dead one."""
    batches = [
        session([("initialized", {}), ("passed", {"success": True}), ("terminated", {})]),
        session([("initialized", {}), ("failed", {"success": False}), ("terminated", {})], OTHER),
    ]
    for batch in batches:
        assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200
    lrs.pump.drain()
    completions = json.loads(transcript(lrs)[1])["completions"]
    by_status = {c["status"]: c for c in completions}
    assert set(by_status) == {"passed", "failed"}
    assert by_status["failed"]["certificate"] is None
    base = lrs.url.removesuffix("/xapi")
    link = by_status["passed"]["certificate"]
    assert link.startswith(base + "/certificates/")
    status, body, _ = call(lrs, "GET", link.removeprefix(base), auth=False)
    assert status == 200, body
    assert json.loads(body)["completion_id"] == by_status["passed"]["completion_id"]


def test_transcript_bad_input_is_4xx(lrs: Running) -> None:
    assert transcript(lrs)[0] == 404  # nothing recorded for this learner
    status, body = transcript(lrs, since="yesterday")
    assert status == 400
    assert b"since" in body
    status, body = transcript(lrs, since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z")
    assert status == 400
    assert b"before until" in body
    status, body = transcript(lrs, format="docx")
    assert status == 400
    assert b"format" in body
    status, _, _ = call(
        lrs, "GET", "/progress/transcript?agent=" + urllib.parse.quote(ANN), auth=False
    )
    assert status == 401


def test_a_learner_reads_their_own_transcript_only(lrs: Running) -> None:
    """A learner's own credential (statements/read/mine bound to the learner): their own
    transcript, with or without agent=; nobody else's. Created through the admin API."""
    batch = session([("initialized", {}), ("completed", {"completion": True}), ("terminated", {})])
    assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200
    lrs.pump.drain()
    status, body, _ = call(
        lrs,
        "POST",
        "/admin/tenants/default/credentials",
        {"scopes": ["statements/read/mine"], "label": "Zoë", "agent": json.loads(ANN)},
    )
    assert status == 201, body
    created = json.loads(body)
    assert created["learner"] == "mbox:mailto:zoe@example.com"
    token = base64.b64encode(f"{created['key']}:{created['secret']}".encode()).decode()
    own = {"Authorization": f"Basic {token}"}
    status, body, _ = call(lrs, "GET", "/progress/transcript", auth=False, headers=own)
    assert status == 200, body
    assert json.loads(body)["learner"]["id"] == "mbox:mailto:zoe@example.com"
    explicit = "/progress/transcript?" + urllib.parse.urlencode({"agent": ANN})
    assert call(lrs, "GET", explicit, auth=False, headers=own)[0] == 200
    someone = json.dumps({"mbox": "mailto:ann@example.com"})
    other = "/progress/transcript?" + urllib.parse.urlencode({"agent": someone})
    status, body, _ = call(lrs, "GET", other, auth=False, headers=own)
    assert status == 403
    assert b"own learner" in body
    assert (
        call(
            lrs,
            "GET",
            "/progress/attempts?" + urllib.parse.urlencode({"agent": ANN}),
            auth=False,
            headers=own,
        )[0]
        == 403
    )  # listings stay with readers of everything
