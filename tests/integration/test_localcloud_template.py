"""The local cloud reads template.yaml (and only it), through the SAM transform: loader,
intrinsic functions, every function and what invokes it, and local tables that follow the
template when it changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud import LocalCloud, Template, TemplateError
from localcloud.template import LOCAL_PARAMETERS, ROUTE, load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def _unused(event: Any, context: Any) -> Any:
    raise AssertionError("not invoked in these tests")


def _all_overridden(template: Template) -> dict[str, Callable[[Any, Any], Any]]:
    return dict.fromkeys(template.functions, _unused)


def _write_copy(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A modified copy of template.yaml (long-form intrinsics) whose code paths still point here."""
    data = load_yaml(TEMPLATE.read_text())
    for resource in data["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = str(ROOT / props[key])
    change(data)
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --------------------------------------------------------------------------- loader


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE)


def test_short_tags_become_long_form_intrinsics() -> None:
    data = load_yaml(
        "A: !Ref X\nB: !GetAtt T.StreamArn\nC: !Sub '${AWS::StackName}-x'\n"
        "D: !If [Cond, 1, 2]\nE: !Not [!Equals [!Ref P, '']]\nF: !Join [',', [a, b]]\n"
    )
    assert data == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "StreamArn"]},
        "C": {"Fn::Sub": "${AWS::StackName}-x"},
        "D": {"Fn::If": ["Cond", 1, 2]},
        "E": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]},
        "F": {"Fn::Join": [",", ["a", "b"]]},
    }


def test_every_table_of_the_template_is_described(template: Template) -> None:
    raw = load_yaml(TEMPLATE.read_text())["Resources"]
    declared = {lid for lid, res in raw.items() if res["Type"] == "AWS::DynamoDB::Table"}
    assert set(template.tables) == declared
    assert template.tables["Table"] == raw["Table"]["Properties"]  # keys, indexes, stream, TTL as declared


def test_functions_get_globals_merged_as_sam_does(template: Template) -> None:
    raw = load_yaml(TEMPLATE.read_text())
    global_vars = raw["Globals"]["Function"]["Environment"]["Variables"]
    declared = {lid for lid, res in raw["Resources"].items() if res["Type"] == "AWS::Serverless::Function"}
    assert set(template.functions) == declared
    for function_id, spec in template.functions.items():
        own = raw["Resources"][function_id]["Properties"]
        assert spec.code_uri == (ROOT / own["CodeUri"]).resolve()
        assert spec.handler == own["Handler"]
        assert spec.timeout == own.get("Timeout", raw["Globals"]["Function"]["Timeout"])
        assert spec.memory_size == own.get("MemorySize", raw["Globals"]["Function"]["MemorySize"])
        assert set(global_vars) <= set(spec.environment)
        assert spec.layers == ((ROOT / "layers/shared").resolve(),)


def test_every_declared_event_is_found_and_wired(template: Template) -> None:
    """Each SAM event becomes what CloudFormation deploys: a stream or queue mapping, a schedule, a route."""
    raw = load_yaml(TEMPLATE.read_text())["Resources"]
    for function_id, spec in template.functions.items():
        expected = set()
        for name, event in raw[function_id]["Properties"].get("Events", {}).items():
            props = event["Properties"]
            if event["Type"] == "HttpApi":
                path = props["Path"]
                name = path if path == "$default" else f"{props['Method'].upper()} {path}"
                assert spec.events[name].type == ROUTE
            elif event["Type"] == "DynamoDB":
                mapping = spec.events[name]
                assert mapping.type == "AWS::Lambda::EventSourceMapping"
                assert mapping.properties["EventSourceArn"] == props["Stream"]
                for key in ("BatchSize", "BisectBatchOnFunctionError", "MaximumRetryAttempts", "FilterCriteria"):
                    assert mapping.properties[key] == props[key], key
            elif event["Type"] == "SQS":
                mapping = spec.events[name]
                assert mapping.type == "AWS::Lambda::EventSourceMapping"
                assert mapping.properties["EventSourceArn"] == props["Queue"]
                for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes"):
                    assert mapping.properties[key] == props[key], key
            elif event["Type"] == "EventBridgeRule":  # SES's bounces: moto sends no SES events (decision 72)
                assert name not in spec.events
                continue
            else:
                assert event["Type"] == "ScheduleV2", f"{function_id}.{name}: add a check for {event['Type']}"
                schedule = spec.events[name]
                assert schedule.type == "AWS::Scheduler::Schedule"
                assert schedule.properties["ScheduleExpression"] == props["ScheduleExpression"]
                assert schedule.properties["Target"]["Input"] == props["Input"]
            expected.add(name)
        assert set(spec.events) == expected, function_id


def test_refs_resolve_to_local_names_and_parameters(template: Template) -> None:
    api = template.functions["ApiFunction"]
    env = template.resolve(dict(api.environment))
    assert env["TABLE_NAME"] == "backorders-local-Table"
    assert env["SENDER_EMAIL"] == template.sender_email == LOCAL_PARAMETERS["SenderEmail"]  # the local stack's value
    planner, planner_name = template.functions["PlannerFunction"], "backorders-local-PlannerFunction"
    frequent = template.resolve(dict(planner.events["Frequent"].properties))
    assert frequent["Name"] == "backorders-local-frequent"
    assert frequent["Target"]["Arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{planner_name}"
    assert frequent["Target"]["DeadLetterConfig"]["Arn"].endswith(":backorders-local-PlannerFailureQueue")


def test_parameter_overrides_are_validated_and_drive_conditions() -> None:
    overridden = Template.load(TEMPLATE, parameter_overrides={"SenderEmail": "shop@example.org"})
    assert overridden.sender_email == "shop@example.org"
    assert overridden.ses_identities == ["shop@example.org"]
    with pytest.raises(TemplateError, match="SenderEmail"):
        Template.load(TEMPLATE, parameter_overrides={"SenderEmail": "not an address"})
    with pytest.raises(TemplateError, match="unknown template parameter"):
        Template.load(TEMPLATE, parameter_overrides={"Nope": "x"})
    default = Template.load(TEMPLATE)
    assert "AlarmSubscription" not in default.resources
    with_alarm_mail = Template.load(TEMPLATE, parameter_overrides={"AlarmEmail": "ops@example.org"})
    assert "AlarmSubscription" in with_alarm_mail.resources
    # the local stack has a sender, so it creates the identity; one that already exists is not created
    assert default.ses_identities == [LOCAL_PARAMETERS["SenderEmail"]]
    existing = Template.load(TEMPLATE, parameter_overrides={"UseExistingSenderIdentity": "yes"})
    assert "SenderIdentity" not in existing.resources
    assert existing.sender_email == LOCAL_PARAMETERS["SenderEmail"]  # still verified in moto (provision.py)
    reserved = Template.load(TEMPLATE, parameter_overrides={"ApiReservedConcurrency": "7"})
    assert reserved.functions["ApiFunction"].reserved_concurrency == 7
    assert default.functions["ApiFunction"].reserved_concurrency is None


# --------------------------------------------------------------------------- tables in moto


def _describe(cloud: LocalCloud, logical_id: str) -> dict[str, Any]:
    client = cloud.client("dynamodb")
    name = cloud.table_name(logical_id)
    table: dict[str, Any] = client.describe_table(TableName=name)["Table"]
    table["TTL"] = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return table


def _indexes(table: dict[str, Any]) -> dict[str, tuple[list[dict[str, str]], str]]:
    return {
        gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"]["ProjectionType"])
        for gsi in table.get("GlobalSecondaryIndexes", [])
    }


def test_local_tables_are_created_exactly_as_the_template_declares(template: Template, tmp_path: Path) -> None:
    with LocalCloud(
        TEMPLATE, state_dir=tmp_path, handler_overrides=_all_overridden(template), streams=False, schedules=False
    ) as cloud:
        for logical_id, spec in template.tables.items():
            table = _describe(cloud, logical_id)
            assert table["TableName"] == f"backorders-local-{logical_id}"
            assert table["KeySchema"] == spec["KeySchema"]
            assert sorted(table["AttributeDefinitions"], key=str) == sorted(spec["AttributeDefinitions"], key=str)
            declared = {
                gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"]["ProjectionType"])
                for gsi in spec.get("GlobalSecondaryIndexes", [])
            }
            assert _indexes(table) == declared
            stream = spec.get("StreamSpecification")
            if stream:
                assert table["StreamSpecification"] == {"StreamEnabled": True, **stream}
                assert cloud.stream_arn(logical_id) == table["LatestStreamArn"]
            ttl = spec.get("TimeToLiveSpecification")
            if ttl:
                assert table["TTL"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
        assert cloud.environment["TABLE_NAME"] == cloud.table_name("Table")
        assert cloud.environment["API_KEYS_SECRET_ARN"] == cloud.secret_arn("ApiKeysSecret")
        secret = cloud.client("secretsmanager").describe_secret(SecretId=cloud.secret_arn("ApiKeysSecret"))
        assert not secret.get("VersionIdsToStages")  # created without a value, as CloudFormation does
        identities = cloud.client("ses").list_identities()["Identities"]
        assert template.sender_email in identities


def test_a_changed_template_changes_the_local_table(template: Template, tmp_path: Path) -> None:
    """Rename one GSI and add another in a copy of template.yaml: the local table follows."""

    def change(data: dict[str, Any]) -> None:
        props = data["Resources"]["Table"]["Properties"]
        renamed = next(gsi for gsi in props["GlobalSecondaryIndexes"] if gsi["IndexName"] == "demand")
        renamed["IndexName"] = "demand_v2"
        props["AttributeDefinitions"].append({"AttributeName": "status", "AttributeType": "S"})
        props["GlobalSecondaryIndexes"].append(
            {
                "IndexName": "by_status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        )

    path = _write_copy(tmp_path, change)
    with LocalCloud(
        path, state_dir=tmp_path, handler_overrides=_all_overridden(template), streams=False, schedules=False
    ) as cloud:
        indexes = _indexes(_describe(cloud, "Table"))
        assert "demand" not in indexes
        assert indexes["demand_v2"][0] == [
            {"AttributeName": "demand_pk", "KeyType": "HASH"},
            {"AttributeName": "demand_sk", "KeyType": "RANGE"},
        ]
        assert indexes["by_status"] == ([{"AttributeName": "status", "KeyType": "HASH"}], "KEYS_ONLY")
        client = cloud.client("dynamodb")
        client.put_item(
            TableName=cloud.table_name("Table"),
            Item={"pk": {"S": "p"}, "sk": {"S": "s"}, "status": {"S": "open"}},
        )
        found = client.query(
            TableName=cloud.table_name("Table"),
            IndexName="by_status",
            KeyConditionExpression="#s = :v",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":v": {"S": "open"}},
        )
        assert found["Count"] == 1


def test_conflicting_function_environments_are_refused(template: Template, tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        props = data["Resources"]["PlannerFunction"]["Properties"]
        props.setdefault("Environment", {}).setdefault("Variables", {})["POWERTOOLS_SERVICE_NAME"] = "planner"

    path = _write_copy(tmp_path, change)
    cloud = LocalCloud(path, state_dir=tmp_path, handler_overrides=_all_overridden(template), streams=False)
    with pytest.raises(TemplateError, match="POWERTOOLS_SERVICE_NAME"):
        cloud.start()
    cloud.stop()  # already stopped by the failed start: a no-op
