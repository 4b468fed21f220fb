"""Gate: cfn-lint finds no error or warning in any synthesized template, in its own region."""

from __future__ import annotations

import pytest

from infra.stages import STAGES
from tests.infra.conftest import Assembly, cfn_lint

pytestmark = pytest.mark.infra


def test_cfn_lint_is_clean_on_every_template(assembly: Assembly) -> None:
    assert len(assembly.templates) == len(STAGES) + sum(len(s.replica_regions) for s in STAGES)
    problems = [p for stack, tpl in assembly.templates.items() for p in cfn_lint(stack, tpl)]
    assert not problems, "\n".join(problems)
