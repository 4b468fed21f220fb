"""The Activities and Agents resources (C§2.5, C§2.4): canonical Activity definitions merged from
accepted Statements, and the Person object.

A definition is kept as flat *fields*, so merging is a plain per-field overwrite that stores can
apply without reading first: each language of ``name``/``description`` and each extension is a
field of its own (merged per key), every other property (``type``, ``moreInfo``, the interaction
properties) is one field (the newest wins). D§2.4.4.1.s4.b3 leaves the update policy to the LRS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

DefinitionFields = dict[str, Any]

_PER_KEY = ("name", "description", "extensions")  # merged per language / per extension IRI
_ORDER = (
    "name",
    "description",
    "type",
    "moreInfo",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
    "extensions",
)


def definition_fields(definition: Mapping[str, Any]) -> DefinitionFields:
    """``{"name": {"en": "A"}, "type": T}`` -> ``{"name/en": "A", "type": T}``."""
    out: DefinitionFields = {}
    for prop, value in definition.items():
        if prop in _PER_KEY and isinstance(value, Mapping):
            for key, item in value.items():
                out[f"{prop}/{key}"] = item
        else:
            out[prop] = value
    return out


def assemble_definition(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`definition_fields`, properties in the order of D§2.4.4.1."""
    out: dict[str, Any] = {}
    for field, value in fields.items():
        prop, sep, key = field.partition("/")
        if sep and prop in _PER_KEY:
            out.setdefault(prop, {})[key] = value
        else:
            out[field] = value
    rank = {prop: i for i, prop in enumerate(_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def activity(activity_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """ACT-001/002: the canonical Activity; just objectType + id when nothing is known."""
    out: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if fields:
        out["definition"] = assemble_definition(fields)
    return out


def _activities(stmt: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Activity object of a (Sub)Statement: its object and its context activities."""
    obj = stmt.get("object")
    if isinstance(obj, Mapping):
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            yield obj
        elif kind == "SubStatement":
            yield from _activities(obj)
    context = stmt.get("context")
    ctx_acts = context.get("contextActivities") if isinstance(context, Mapping) else None
    if isinstance(ctx_acts, Mapping):
        for value in ctx_acts.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Mapping):
                    yield item


def batch_definitions(statements: Iterable[Mapping[str, Any]]) -> dict[str, DefinitionFields]:
    """Per Activity id, the definition fields a batch of Statements carries, later ones winning
    (ACT-001). Activities without a definition contribute nothing."""
    out: dict[str, DefinitionFields] = {}
    for stmt in statements:
        for act in _activities(stmt):
            definition = act.get("definition")
            if isinstance(definition, Mapping) and definition and "id" in act:
                out.setdefault(str(act["id"]), {}).update(definition_fields(definition))
    return out


_PERSON_PROPERTIES = ("name", "mbox", "mbox_sha1sum", "openid", "account")


def person(agent: Mapping[str, Any]) -> dict[str, Any]:
    """AGT-001..003: a Person holding what is known of the Agent -- here, the Agent as asked
    (this LRS keeps no directory of personas), each property as a one-element array."""
    out: dict[str, Any] = {"objectType": "Person"}
    for prop in _PERSON_PROPERTIES:
        if prop in agent:
            out[prop] = [agent[prop]]
    return out
