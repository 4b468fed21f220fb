"""Gate: cdk-nag's AwsSolutions and HIPAA Security packs find nothing unacknowledged, and every
acknowledgment is specific, reasoned and still needed."""

from __future__ import annotations

import re

import pytest

from tests.infra.conftest import Assembly

pytestmark = pytest.mark.infra

VAGUE = re.compile(r"\b(todo|fixme|tbd|n/a|false positive|not needed|ignore[ds]?|suppress)", re.I)


def test_synthesis_has_no_unacknowledged_aws_solutions_or_hipaa_finding(
    assembly: Assembly,
) -> None:
    assert assembly.templates, "nothing was synthesized"
    report = "\n".join(f"{finding} at {path}" for finding, path in assembly.findings)
    assert not assembly.findings, f"cdk-nag findings to fix or acknowledge:\n{report}"


def test_every_acknowledgment_says_why_it_is_right_here(assembly: Assembly) -> None:
    assert assembly.acknowledgments
    for path, finding, reason in assembly.acknowledgments:
        where = f"{finding} at {path}"
        assert len(reason.split()) >= 15, f"{where}: give a specific reason, not {reason!r}"
        assert not VAGUE.search(reason), f"{where}: {reason!r} does not say why"


def test_every_acknowledgment_answers_a_finding_cdk_nag_really_makes(
    assembly: Assembly, unacknowledged: Assembly
) -> None:
    """Without acknowledgments, each one's finding shows up on its construct (or below it):
    none is stale or broader than the finding."""
    assert unacknowledged.findings
    stale = [
        f"{finding} at {path}"
        for path, finding, _ in assembly.acknowledgments
        if not any(
            rule == finding and (where == path or where.startswith(path + "/"))
            for rule, where in unacknowledged.findings
        )
    ]
    assert not stale, "cdk-nag does not report these acknowledged findings:\n" + "\n".join(stale)
