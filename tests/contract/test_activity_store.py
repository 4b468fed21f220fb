"""One contract for every ActivityStore adapter: canonical definitions merged per field
(``progress.domain.activities``), tenant-scoped, without reads or cross-Activity transactions."""

from __future__ import annotations

import threading

from progress.app.ports import ActivityStore
from progress.domain.activities import assemble_definition, definition_fields

T1, T2 = "tenant-one", "tenant-two"
A, B = "http://example.com/activities/a", "http://example.com/activities/b"
EXT = "http://example.com/ext/location"


def test_unknown_activity_has_no_fields(activity_store: ActivityStore) -> None:
    """ACT-002: nothing known is an empty definition, not an error."""
    assert activity_store.get(T1, A) == {}


def test_merge_keeps_languages_and_extensions_and_overwrites_scalars(
    activity_store: ActivityStore,
) -> None:
    """ACT-001 (XAPI-00254): two Statements with different name languages -> both kept; the
    newest ``type``/``moreInfo`` win; extensions merge per IRI with JSON values kept exact."""
    first = {
        "name": {"en-US": "meeting"},
        "type": "http://adlnet.gov/expapi/activities/meeting",
        "extensions": {EXT: {"room": 1, "tags": ["a", None]}},
    }
    second = {
        "name": {"fr-FR": "réunion"},
        "type": "http://adlnet.gov/expapi/activities/course",
        "moreInfo": "http://example.com/more",
        "extensions": {"http://example.com/ext/other": 2.5},
    }
    activity_store.merge(T1, {A: definition_fields(first)})
    activity_store.merge(T1, {A: definition_fields(second)})
    assert assemble_definition(activity_store.get(T1, A)) == {
        "name": {"en-US": "meeting", "fr-FR": "réunion"},
        "type": "http://adlnet.gov/expapi/activities/course",
        "moreInfo": "http://example.com/more",
        "extensions": {EXT: {"room": 1, "tags": ["a", None]}, "http://example.com/ext/other": 2.5},
    }


def test_one_call_merges_several_activities(activity_store: ActivityStore) -> None:
    activity_store.merge(
        T1,
        {A: {"name/en": "A", "interactionType": "choice"}, B: {"description/en": "B"}},
    )
    assert activity_store.get(T1, A) == {"name/en": "A", "interactionType": "choice"}
    assert activity_store.get(T1, B) == {"description/en": "B"}


def test_tenants_have_their_own_definitions(activity_store: ActivityStore) -> None:
    """TEN-001: the same Activity id is canonicalised per tenant."""
    activity_store.merge(T1, {A: {"name/en": "one"}})
    activity_store.merge(T2, {A: {"name/en": "two"}})
    assert activity_store.get(T1, A) == {"name/en": "one"}
    assert activity_store.get(T2, A) == {"name/en": "two"}
    assert activity_store.get(T2, B) == {}


def test_concurrent_merges_of_different_languages_all_land(activity_store: ActivityStore) -> None:
    """No read-then-write: eight writers adding a language each never lose one another's."""
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        barrier.wait()
        activity_store.merge(T1, {A: {f"name/l{i}": str(i)}})

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert activity_store.get(T1, A) == {f"name/l{i}": str(i) for i in range(8)}


def test_get_many_reads_the_known_activities_of_the_tenant(
    activity_store: ActivityStore,
) -> None:
    """A transcript names hundreds of Activities: one call returns the fields of every known
    one (in chunks beyond one round trip), leaves unknown ones and other tenants' out, and
    takes repeated ids."""
    many = {f"http://example.com/activities/{n}": {"name/en": f"course {n}"} for n in range(620)}
    activity_store.merge(T1, many)
    activity_store.merge(T1, {A: {"name/en": "A", "type": "http://example.com/t"}})
    activity_store.merge(T2, {B: {"name/en": "other tenant's"}})
    wanted = [*many, A, A, B, "http://example.com/activities/unknown"]
    assert activity_store.get_many(T1, wanted) == {
        **many,
        A: {"name/en": "A", "type": "http://example.com/t"},
    }
    assert activity_store.get_many(T2, [A, B]) == {B: {"name/en": "other tenant's"}}
    assert activity_store.get_many(T1, []) == {}
