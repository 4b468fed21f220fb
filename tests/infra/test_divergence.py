"""One source of truth: the synthesized templates hold exactly what ``progress.catalog`` lists --
every function (importable the way Lambda imports it), route, rule, state machine and event
schema -- and the local runtime serves exactly what API Gateway serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from infra.events import DRAFT4, draft4, schema_files
from infra.stages import STAGES
from infra.workflows import STATEMACHINES_DIR
from progress import catalog
from progress.local.server import Front, load_handler
from progress.settings import ENV_POWERTOOLS_SERVICE_NAME
from tests.infra.conftest import Assembly

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
SERVICE_STACKS = [stage.stack_name for stage in STAGES]


def functions_of(template: dict[str, Any]) -> dict[str, str]:
    """Catalog function name -> logical id (the factory names each by its service env)."""
    return {
        r["Properties"]["Environment"]["Variables"][ENV_POWERTOOLS_SERVICE_NAME]: logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }


def refers_to(value: Any, logical_id: str) -> bool:
    return f'"{logical_id}"' in json.dumps(value)


def api_methods(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, HTTP method) -> the Method's properties."""
    resources = template["Resources"]

    def path(resource_id: str) -> str:
        props = resources[resource_id]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {
        (path(r["Properties"]["ResourceId"]["Ref"]), r["Properties"]["HttpMethod"]): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method"
    }


def test_every_catalog_function_has_a_handler_lambda_can_import() -> None:
    for spec in catalog.FUNCTIONS:
        assert callable(load_handler(spec.name)), spec.name


def test_every_handler_folder_is_a_catalog_function() -> None:
    folders = {p.parent.name for p in (REPO / "functions").glob("*/handler.py")}
    assert folders == {spec.name for spec in catalog.FUNCTIONS}


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_template_has_exactly_the_catalog_functions(assembly: Assembly, stack: str) -> None:
    template = assembly.template(stack)
    assert set(functions_of(template)) == {spec.name for spec in catalog.FUNCTIONS}
    for function in assembly.resources(stack, "AWS::Lambda::Function").values():
        assert function["Properties"]["Handler"] == "handler.lambda_handler"


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_route_is_a_proxy_resource_behind_its_authorizer_or_public_if_it_has_none(
    assembly: Assembly, stack: str
) -> None:
    template = assembly.template(stack)
    functions = functions_of(template)
    methods = api_methods(template)
    expected = {
        (path, method)
        for route in catalog.ROUTES
        for path in (route.prefix, f"{route.prefix}/{{proxy+}}")
        for method in ("ANY", "OPTIONS")
    }
    assert set(methods) == expected
    authorizers = assembly.resources(stack, "AWS::ApiGateway::Authorizer")
    assert len(authorizers) == len({r.authorizer for r in catalog.ROUTES if r.authorizer})
    for route in catalog.ROUTES:
        for path in (route.prefix, f"{route.prefix}/{{proxy+}}"):
            proxy, preflight = methods[path, "ANY"], methods[path, "OPTIONS"]
            for method in (proxy, preflight):
                assert refers_to(method["Integration"]["Uri"], functions[route.function])
            assert preflight["AuthorizationType"] == "NONE"
            if route.authorizer is None:  # public: no authorizer runs at all
                assert proxy["AuthorizationType"] == "NONE", path
                assert "AuthorizerId" not in proxy, path
                continue
            assert proxy["AuthorizationType"] == "CUSTOM", path
            authorizer = authorizers[proxy["AuthorizerId"]["Ref"]]["Properties"]
            assert refers_to(authorizer["AuthorizerUri"], functions[route.authorizer])


def test_the_catalog_has_routes_with_and_without_an_authorizer() -> None:
    """Both branches of the test above are exercised by the real catalog."""
    assert {route.authorizer is None for route in catalog.ROUTES} == {True, False}


def trigger_wiring(
    assembly: Assembly, stack: str, logical_id: str, trigger: catalog.Trigger
) -> list[dict[str, Any]]:
    """The resources that invoke a function the way its trigger says (empty: not wired)."""

    def referring(kind: str) -> list[dict[str, Any]]:
        return [
            r["Properties"]
            for r in assembly.resources(stack, kind).values()
            if refers_to(r["Properties"], logical_id)
        ]

    if trigger is catalog.Trigger.API:
        return referring("AWS::ApiGateway::Method")
    if trigger is catalog.Trigger.AUTHORIZER:
        return referring("AWS::ApiGateway::Authorizer")
    if trigger is catalog.Trigger.STREAM:
        return [
            m
            for m in referring("AWS::Lambda::EventSourceMapping")
            if m["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
        ]
    if trigger is catalog.Trigger.EVENT:
        return referring("AWS::Events::Rule")
    if trigger is catalog.Trigger.SCHEDULE:
        return referring("AWS::Scheduler::Schedule")
    if trigger is catalog.Trigger.TASK:
        return referring("AWS::StepFunctions::StateMachine")
    raise AssertionError(f"{trigger}: tests/infra/test_divergence.py does not know this trigger")


def test_the_divergence_tests_know_every_trigger(assembly: Assembly) -> None:
    """A new ``catalog.Trigger`` must get its wiring check here (and its wiring in infra)."""
    for trigger in catalog.Trigger:
        trigger_wiring(assembly, SERVICE_STACKS[0], "NoSuchLogicalId", trigger)


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_function_is_invoked_the_way_its_trigger_says_and_no_other_way(
    assembly: Assembly, stack: str
) -> None:
    functions = functions_of(assembly.template(stack))
    for spec in catalog.FUNCTIONS:
        for trigger in catalog.Trigger:
            wired = trigger_wiring(assembly, stack, functions[spec.name], trigger)
            if trigger is spec.trigger:
                assert wired, f"{spec.name}: no {trigger} wiring in {stack}"
            else:
                assert not wired, f"{spec.name} ({spec.trigger}) is also wired as {trigger}"


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_scheduled_function_runs_at_its_catalog_rate(assembly: Assembly, stack: str) -> None:
    functions = functions_of(assembly.template(stack))
    schedules = list(assembly.resources(stack, "AWS::Scheduler::Schedule").values())
    scheduled = [spec for spec in catalog.FUNCTIONS if spec.trigger is catalog.Trigger.SCHEDULE]
    assert len(schedules) == len(scheduled)
    for spec in scheduled:
        (schedule,) = [
            s["Properties"]
            for s in schedules
            if refers_to(s["Properties"]["Target"]["Arn"], functions[spec.name])
        ]
        minutes = spec.schedule_minutes
        unit = "minute" if minutes == 1 else "minutes"
        assert schedule["ScheduleExpression"] == f"rate({minutes} {unit})"
        assert schedule["State"] == "ENABLED"


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_rule_is_an_eventbridge_rule_to_its_consumer(assembly: Assembly, stack: str) -> None:
    functions = functions_of(assembly.template(stack))
    rules = list(assembly.resources(stack, "AWS::Events::Rule").values())
    assert len(rules) == len(catalog.RULES)
    for spec in catalog.RULES:
        pattern = {"source": [spec.source], "detail-type": list(spec.detail_types)}
        (rule,) = [r for r in rules if r["Properties"]["EventPattern"] == pattern]
        (target,) = rule["Properties"]["Targets"]
        assert refers_to(target["Arn"], functions[spec.target])


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_state_machine_file_is_in_the_catalog_and_the_template(
    assembly: Assembly, stack: str
) -> None:
    files = {p.name for p in STATEMACHINES_DIR.glob("*.asl.json")}
    assert files == {spec.definition for spec in catalog.STATE_MACHINES}
    machines = assembly.resources(stack, "AWS::StepFunctions::StateMachine")
    assert len(machines) == len(catalog.STATE_MACHINES)


@pytest.mark.parametrize("stack", SERVICE_STACKS)
def test_every_event_schema_file_is_registered_in_draft_4(assembly: Assembly, stack: str) -> None:
    """The registry takes Draft 4 (or OpenAPI 3); the contracts are Draft 2020-12."""
    registered = {
        r["Properties"]["SchemaName"]: r["Properties"]
        for r in assembly.resources(stack, "AWS::EventSchemas::Schema").values()
    }
    assert set(registered) == {p.name.removesuffix(".json") for p in schema_files()}
    for path in schema_files():
        schema = registered[path.name.removesuffix(".json")]
        assert schema["Type"] == "JSONSchemaDraft4"
        content = json.loads(schema["Content"])
        Draft4Validator.check_schema(content)
        assert content == draft4(json.loads(path.read_text()))


def test_a_contract_with_no_draft_4_form_stops_the_synthesis() -> None:
    assert draft4({"$schema": "x", "const": 1}) == {"$schema": DRAFT4, "enum": [1]}
    with pytest.raises(ValueError, match=r"\$ref"):
        draft4({"properties": {"a": {"$ref": "#/$defs/a"}}})


def test_the_local_runtime_serves_what_api_gateway_serves(assembly: Assembly) -> None:
    """``make run`` loads exactly the functions the API and its authorizers invoke."""
    template = assembly.template(SERVICE_STACKS[0])
    wired = {
        name
        for name, logical_id in functions_of(template).items()
        for kind in ("AWS::ApiGateway::Method", "AWS::ApiGateway::Authorizer")
        for resource in assembly.resources(SERVICE_STACKS[0], kind).values()
        if refers_to(resource["Properties"], logical_id)
    }
    front = Front(("127.0.0.1", 0), 1024)
    try:
        assert set(front.handlers) == wired
    finally:
        front.server_close()
