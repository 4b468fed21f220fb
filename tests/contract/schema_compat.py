"""Backward compatibility of JSON Schemas (Draft 2020-12) between a baseline and a new version.

A change is compatible when every document the old schema accepted is still accepted, and no
property a consumer may rely on goes away: a new version may add optional properties, widen
types, add enum values, relax bounds, and change annotations (title, description, examples).
It must not remove or rename properties, add required ones, narrow types, drop enum values,
add or change a const, format or pattern, tighten bounds or ``additionalProperties``.

Keywords this module does not know are compared for equality: any change to them is reported,
to be judged by a person (and then the baseline updated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default", "deprecated"})
LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
SUBSCHEMA_MAPS = ("properties", "$defs")
HANDLED = frozenset(
    {
        "type",
        "enum",
        "const",
        "required",
        "additionalProperties",
        "items",
        "format",
        "pattern",
        "uniqueItems",
        *LOWER_BOUNDS,
        *UPPER_BOUNDS,
        *SUBSCHEMA_MAPS,
    }
)


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def _accepts_type(new: set[str] | None, old_type: str) -> bool:
    return new is None or old_type in new or (old_type == "integer" and "number" in new)


def breaking_changes(old: Any, new: Any, path: str = "$") -> list[str]:
    """What ``new`` breaks of ``old``, one message per change (empty: compatible)."""
    if new is True or new == {} or old is False:
        return []  # the new schema accepts anything, or the old one accepted nothing
    if old is True or old == {}:
        return [f"{path}: now constrained"]
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [] if old == new else [f"{path}: schema changed from {old!r} to {new!r}"]
    out: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if old_types is None and new_types is not None:
        out.append(f"{path}: type narrowed to {sorted(new_types)}")
    for lost in sorted(t for t in (old_types or ()) if not _accepts_type(new_types, t)):
        out.append(f"{path}: type {lost!r} no longer accepted")
    if "const" in new and old.get("const", object()) != new["const"]:
        out.append(f"{path}: const {new['const']!r} added or changed")
    if "enum" in new:
        allowed = old["enum"] if "enum" in old else [old["const"]] if "const" in old else None
        if allowed is None:
            out.append(f"{path}: enum added")
        else:
            out.extend(f"{path}: enum value {v!r} removed" for v in allowed if v not in new["enum"])
    for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
        out.append(f"{path}: property {name!r} is now required")
    for keyword in SUBSCHEMA_MAPS:
        old_map, new_map = old.get(keyword, {}), new.get(keyword, {})
        for name in sorted(old_map):
            where = f"{path}.{name}" if keyword == "properties" else f"{path}/$defs/{name}"
            if name not in new_map:
                out.append(f"{where}: removed")
            else:
                out.extend(breaking_changes(old_map[name], new_map[name], where))
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    if old_extra is not False and new_extra is False:
        out.append(f"{path}: additional properties no longer allowed")
    else:
        out.extend(breaking_changes(old_extra, new_extra, f"{path}.*"))
    if "items" in old or "items" in new:
        out.extend(breaking_changes(old.get("items", True), new.get("items", True), f"{path}[]"))
    for keyword in ("format", "pattern"):
        if keyword in new and old.get(keyword) != new[keyword]:
            out.append(f"{path}: {keyword} {new[keyword]!r} added or changed")
    if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
        out.append(f"{path}: uniqueItems added")
    for keyword in LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            out.append(f"{path}: {keyword} raised to {new[keyword]!r}")
    for keyword in UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            out.append(f"{path}: {keyword} lowered to {new[keyword]!r}")
    for keyword in sorted((set(old) | set(new)) - HANDLED - ANNOTATIONS):
        if old.get(keyword) != new.get(keyword):
            out.append(f"{path}: {keyword} changed (not checked automatically: review it)")
    return out
