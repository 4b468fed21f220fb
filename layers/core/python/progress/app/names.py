"""Display names for documents people read (certificates, transcripts): progress keeps ids
only, so names come from the Statements and the canonical Activity definitions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from progress.app.ports import ActivityStore, StatementStore
from progress.domain.activities import DefinitionFields
from progress.domain.formats import pick_language


def actor_name(statements: StatementStore, tenant: str, statement_id: str | None) -> str | None:
    """The ``actor.name`` of a stored Statement, if it has a non-blank one."""
    if statement_id is None:
        return None
    for stored in statements.get(tenant, [statement_id]).values():
        actor = orjson.loads(stored.body).get("actor")
        name = actor.get("name") if isinstance(actor, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def activity_name(
    activities: ActivityStore, tenant: str, activity_id: str, langs: Sequence[str] = ()
) -> str | None:
    """The canonical definition's name in the caller's language (SAPI-056 rules: else en-US,
    else en, else any)."""
    return _name(activities.get(tenant, activity_id), langs)


def activity_names(
    activities: ActivityStore, tenant: str, activity_ids: Iterable[str], langs: Sequence[str] = ()
) -> dict[str, str | None]:
    """``activity_name`` of each of ``activity_ids``, read in one ``get_many``."""
    wanted = list(dict.fromkeys(activity_ids))
    found = activities.get_many(tenant, wanted) if wanted else {}
    return {a: _name(found.get(a, {}), langs) for a in wanted}


def _name(fields: DefinitionFields, langs: Sequence[str]) -> str | None:
    names = {k[5:]: v for k, v in fields.items() if k.startswith("name/") and isinstance(v, str)}
    if not names:
        return None
    return next(iter(pick_language(names, langs).values())) or None
