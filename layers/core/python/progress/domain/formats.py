"""Statement output formats of GET /statements (C§2.1.3 ``format``) and language filtering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def _ids_agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    """SAPI-033 ids: only identifying properties; anonymous Group members reduced likewise."""
    out: dict[str, Any] = {}
    if "objectType" in agent:
        out["objectType"] = agent["objectType"]
    for ifi in _IFIS:
        if ifi in agent:
            out[ifi] = agent[ifi]
    if agent.get("objectType") == "Group" and not any(i in agent for i in _IFIS):
        out["member"] = [_ids_agent(m) for m in agent.get("member", [])]
    return out


def _ids_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    kind = obj.get("objectType", "Activity")
    if kind in ("Agent", "Group"):
        return _ids_agent(obj)
    if kind == "SubStatement":
        return _ids_statement(obj)
    if kind == "StatementRef":
        return {"objectType": "StatementRef", "id": obj["id"]}
    return {"id": obj["id"]}  # an Activity is identified by its id alone


def _ids_context(context: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(context)
    for place in ("instructor", "team"):
        if place in out:
            out[place] = _ids_agent(out[place])
    if "contextActivities" in out:
        out["contextActivities"] = {
            k: [_ids_object(a) for a in (v if isinstance(v, list) else [v])]
            for k, v in out["contextActivities"].items()
        }
    return out


def _ids_statement(stmt: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(stmt)
    out["actor"] = _ids_agent(stmt["actor"])
    out["verb"] = {"id": stmt["verb"]["id"]}
    out["object"] = _ids_object(stmt["object"])
    if "authority" in stmt:
        out["authority"] = _ids_agent(stmt["authority"])
    if "context" in stmt:
        out["context"] = _ids_context(stmt["context"])
    return out


def ids_format(stmt: Mapping[str, Any]) -> dict[str, Any]:
    return _ids_statement(stmt)


def parse_accept_language(value: str | None) -> list[str]:
    """RFC 2616 §14.4 preference order of language ranges (q=0 ranges dropped)."""
    if not value:
        return []
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(value.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if q > 0:
            ranked.append((-q, i, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def pick_language(lang_map: Mapping[str, str], preferred: Sequence[str]) -> dict[str, str]:
    """SAPI-056: reduce a language map to the one entry the client prefers most."""
    if len(lang_map) <= 1:
        return dict(lang_map)
    lowered = {k.lower(): k for k in lang_map}
    for want in preferred:
        if want == "*":
            break
        if want in lowered:
            key = lowered[want]
            return {key: lang_map[key]}
        prefix = want + "-"
        for low, key in lowered.items():
            if low.startswith(prefix) or want.startswith(low + "-"):
                return {key: lang_map[key]}
    key = lowered.get("en-us") or lowered.get("en") or next(iter(lang_map))
    return {key: lang_map[key]}


def _canonical_activity(activity: Mapping[str, Any], langs: Sequence[str]) -> dict[str, Any]:
    out = dict(activity)
    definition = activity.get("definition")
    if isinstance(definition, Mapping):
        d = dict(definition)
        for field in ("name", "description"):
            if isinstance(d.get(field), Mapping):
                d[field] = pick_language(d[field], langs)
        for comp in ("choices", "scale", "source", "target", "steps"):
            if isinstance(d.get(comp), list):
                d[comp] = [
                    {**c, "description": pick_language(c["description"], langs)}
                    if isinstance(c.get("description"), Mapping)
                    else c
                    for c in d[comp]
                ]
        out["definition"] = d
    return out


def canonical_format(stmt: Mapping[str, Any], langs: Sequence[str]) -> dict[str, Any]:
    """SAPI-033/056: canonical definitions, one language per map (the Statement's own definition
    is the canonical one until Activity definitions are kept per tenant)."""
    out = dict(stmt)
    verb = stmt["verb"]
    if isinstance(verb.get("display"), Mapping):
        out["verb"] = {**verb, "display": pick_language(verb["display"], langs)}
    obj = stmt["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        out["object"] = _canonical_activity(obj, langs)
    elif kind == "SubStatement":
        out["object"] = canonical_format(obj, langs)
    context = stmt.get("context")
    if isinstance(context, Mapping) and isinstance(context.get("contextActivities"), Mapping):
        out["context"] = {
            **context,
            "contextActivities": {
                k: [_canonical_activity(a, langs) for a in (v if isinstance(v, list) else [v])]
                for k, v in context["contextActivities"].items()
            },
        }
    return out
