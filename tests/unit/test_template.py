"""Fast checks on template.yaml: the properties the product depends on.

These read the template as data (no SAM transform, no AWS); samtranslator's YAML loader
turns the CloudFormation short tags (!Ref, !GetAtt, !Sub, ...) into their long form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


# --------------------------------------------------------------------------- loader
def load_cfn_yaml(text: str) -> Any:
    """samtranslator's loader, the one the local cloud uses: short tags in their long form."""
    return yaml_parse(text)  # type: ignore[no-untyped-call]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = load_cfn_yaml(path.read_text(encoding="utf-8"))
    return template


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def _of_type(resources: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources.items() if res["Type"] == type_}


def _events(resources: dict[str, Any], *types: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for fn_name, fn in _of_type(resources, "AWS::Serverless::Function").items():
        for event_name, event in fn["Properties"].get("Events", {}).items():
            if event["Type"] in types:
                yield fn_name, event_name, event["Properties"]


def _getatt_target(value: Any, attribute: str) -> str:
    """The logical id in ``!GetAtt <id>.<attribute>``; fails on anything else."""
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::GetAtt"}, value
    logical_id, attr = value["Fn::GetAtt"]
    assert attr == attribute, value
    return str(logical_id)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _failure_queues(resources: dict[str, Any]) -> set[str]:
    """Every SQS queue that failures are sent to (stream on-failure, schedule and Lambda DLQs)."""
    queues: set[str] = set()
    for _, _, props in _events(resources, "DynamoDB", "Kinesis", "SQS"):
        on_failure = props.get("DestinationConfig", {}).get("OnFailure")
        if on_failure:
            queues.add(_getatt_target(on_failure["Destination"], "Arn"))
    for _, _, props in _events(resources, "ScheduleV2", "Schedule"):
        if "DeadLetterConfig" in props:
            queues.add(_getatt_target(props["DeadLetterConfig"]["Arn"], "Arn"))
    for fn in _of_type(resources, "AWS::Serverless::Function").values():
        dlq = fn["Properties"].get("DeadLetterQueue")
        if dlq and dlq["Type"] == "SQS":
            queues.add(_getatt_target(dlq["TargetArn"], "Arn"))
    return queues


# --------------------------------------------------------------------------- runtime
def test_globals_python312_on_arm64(template: dict[str, Any]) -> None:
    fn_globals = template["Globals"]["Function"]
    assert fn_globals["Runtime"] == "python3.12"
    assert fn_globals["Architectures"] == ["arm64"]


def test_no_function_overrides_runtime_or_architecture(resources: dict[str, Any]) -> None:
    for name, fn in _of_type(resources, "AWS::Serverless::Function").items():
        props = fn["Properties"]
        assert props.get("Runtime", "python3.12") == "python3.12", name
        assert props.get("Architectures", ["arm64"]) == ["arm64"], name


# --------------------------------------------------------------------------- table
def test_table_on_demand_with_stream_pitr_and_ttl(resources: dict[str, Any]) -> None:
    table = resources["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


# --------------------------------------------------------------------------- stream consumer
def test_stream_mapping_reports_item_failures_with_bounded_retries(resources: dict[str, Any]) -> None:
    mappings = [
        props
        for _, _, props in _events(resources, "DynamoDB")
        if _getatt_target(props["Stream"], "StreamArn") == "Table"
    ]
    assert mappings, "no event source mapping on the table stream"
    for props in mappings:
        assert "ReportBatchItemFailures" in props["FunctionResponseTypes"]
        retries = props["MaximumRetryAttempts"]
        assert isinstance(retries, int)
        assert 0 <= retries <= 10, "retries must be bounded (-1 means forever)"
        assert props["BisectBatchOnFunctionError"] is True
        on_failure = props["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS"
        queue = _getatt_target(on_failure["Destination"], "Arn")
        assert resources[queue]["Type"] == "AWS::SQS::Queue"


# --------------------------------------------------------------------------- schedules
_DAILY_CRON = re.compile(r"^cron\(\d{1,2} \d{1,2} [*?] \* [*?] \*\)$")


def test_the_planner_has_one_rate_and_one_daily_cron_schedule_and_the_catch_up_a_rate(
    resources: dict[str, Any],
) -> None:
    planner = {k: v for k, v in resources.items() if k == "PlannerFunction"}
    expressions = [props["ScheduleExpression"] for _, _, props in _events(planner, "ScheduleV2", "Schedule")]
    rates = [e for e in expressions if e.startswith("rate(")]
    crons = [e for e in expressions if e.startswith("cron(")]
    catch_up = {k: v for k, v in resources.items() if k == "CatchUpFunction"}
    assert [props["ScheduleExpression"] for _, _, props in _events(catch_up, "ScheduleV2")] == ["rate(15 minutes)"]
    assert len(expressions) == 2, expressions
    assert len(rates) == 1, expressions
    assert len(crons) == 1, expressions
    assert _DAILY_CRON.match(crons[0]), f"not a once-a-day cron: {crons[0]}"


# --------------------------------------------------------------------------- failure alarms
def test_every_failure_queue_has_an_alarm(resources: dict[str, Any]) -> None:
    queues = _failure_queues(resources)
    assert {"AllotterFailureQueue", "PlannerFailureQueue"} <= queues
    alarmed: set[str] = set()
    for alarm in _of_type(resources, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/SQS" or not props.get("AlarmActions"):
            continue
        for dim in props.get("Dimensions", []):
            if dim["Name"] == "QueueName":
                alarmed.add(_getatt_target(dim["Value"], "QueueName"))
    missing = queues - alarmed
    assert not missing, f"failure queues without an alarm: {sorted(missing)}"


# --------------------------------------------------------------------------- outputs
def test_outputs_api_url_and_table_name(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert "ApiUrl" in outputs
    assert outputs["TableName"]["Value"] == {"Ref": "Table"}


# --------------------------------------------------------------------------- permissions
def _statements(policies: list[Any]) -> Iterator[dict[str, Any]]:
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            yield from _as_list(policy["Statement"])


def test_every_function_has_its_own_least_privilege_policies(resources: dict[str, Any]) -> None:
    functions = _of_type(resources, "AWS::Serverless::Function")
    assert functions
    for name, fn in functions.items():
        props = fn["Properties"]
        assert "Role" not in props, f"{name} must use its own Policies, not a shared role"
        policies = _as_list(props.get("Policies", []))
        assert policies, f"{name} has no Policies"
        assert "AdministratorAccess" not in repr(policies), name
        for statement in _statements(policies):
            assert "NotAction" not in statement, name
            assert "NotResource" not in statement, name
            actions = [str(a) for a in _as_list(statement["Action"])]
            assert "*" not in actions, name
            if any(a.lower().startswith("dynamodb:") for a in actions):
                for resource in _as_list(statement["Resource"]):
                    assert not (isinstance(resource, str) and "*" in resource), (
                        f"{name}: dynamodb actions on wildcard resource {resource!r}"
                    )


def test_function_logs_have_bounded_retention(resources: dict[str, Any]) -> None:
    for name, fn in _of_type(resources, "AWS::Serverless::Function").items():
        log_group = fn["Properties"]["LoggingConfig"]["LogGroup"]
        assert set(log_group) == {"Ref"}, name
        group = resources[log_group["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert "RetentionInDays" in group["Properties"], name


# --------------------------------------------------------------------------- checkov skips
def test_every_checkov_skip_has_a_reason(resources: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, res in resources.items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "expected the documented checkov skips"
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", str(skip.get("id", ""))), (name, skip)
        comment = skip.get("comment")
        assert isinstance(comment, str), (name, skip)
        assert comment.strip(), (name, skip)


def test_loader_understands_short_tags() -> None:
    doc = load_cfn_yaml("a: !Ref X\nb: !GetAtt T.StreamArn\nc: !Sub '${X}'\nd: !Not [!Equals [!Ref P, '']]\n")
    assert doc == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["T", "StreamArn"]},
        "c": {"Fn::Sub": "${X}"},
        "d": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]},
    }


# --------------------------------------------------------------------------- a new account
def test_no_function_reserves_concurrency_by_default(template: dict[str, Any], resources: dict[str, Any]) -> None:
    """Reserved concurrency comes out of the account quota and Lambda keeps 100 unreserved:
    an account with the default quota of 10 or 50 cannot create a function that reserves
    any. Each reservation is a parameter, empty (no reservation) by default, never 0 (which
    would switch the function off)."""
    parameters, conditions = template["Parameters"], template["Conditions"]
    for name, fn in _of_type(resources, "AWS::Serverless::Function").items():
        reserved = fn["Properties"].get("ReservedConcurrentExecutions")
        if reserved is None:
            continue
        condition, when_set, otherwise = reserved["Fn::If"]
        parameter = when_set["Ref"]
        assert otherwise == {"Ref": "AWS::NoValue"}, name
        assert conditions[condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}, name
        spec = parameters[parameter]
        assert spec["Default"] == "", f"{name} reserves concurrency by default"
        pattern = re.compile(spec["AllowedPattern"])
        assert pattern.fullmatch("100") and pattern.fullmatch(""), name
        assert not pattern.fullmatch("0") and not pattern.fullmatch("-1"), name


def test_the_ses_identity_is_created_only_for_a_new_address(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    """An identity that already exists in the region fails the stack: the deployer says so
    (UseExistingSenderIdentity=yes). No address, no identity: the default deploys anywhere."""
    identities = _of_type(resources, "AWS::SES::EmailIdentity")
    assert identities
    for identity in identities.values():
        condition = template["Conditions"][identity["Condition"]]
        assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "SenderEmail"}, ""]}]} in condition["Fn::And"]
        assert {"Fn::Equals": [{"Ref": "UseExistingSenderIdentity"}, "no"]} in condition["Fn::And"]
    assert template["Parameters"]["SenderEmail"]["Default"] == ""
    assert set(template["Parameters"]["UseExistingSenderIdentity"]["AllowedValues"]) == {"no", "yes"}


def test_the_key_ring_survives_stack_updates_and_deletes(resources: dict[str, Any]) -> None:
    """The shops' keys are written after deployment: the template must not hold a value
    (an update would write it back over the keys) and the secret must be retained."""
    secret = resources["ApiKeysSecret"]
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"
    assert not {"SecretString", "GenerateSecretString"} & set(secret["Properties"])


def test_the_layer_name_is_scoped_to_the_stack(resources: dict[str, Any]) -> None:
    for name, layer in _of_type(resources, "AWS::Serverless::LayerVersion").items():
        assert "${AWS::StackName}" in layer["Properties"]["LayerName"]["Fn::Sub"], name


def test_no_queue_policy_lets_a_service_send_without_a_source_condition(resources: dict[str, Any]) -> None:
    for name, policy in _of_type(resources, "AWS::SQS::QueuePolicy").items():
        for statement in _as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
            if "Service" in (statement.get("Principal") or {}):
                keys = {key for test in (statement.get("Condition") or {}).values() for key in test}
                assert keys & {"aws:SourceArn", "aws:SourceAccount"}, name


# --------------------------------------------------------------------------- alarms
def _alarms(resources: dict[str, Any]) -> list[dict[str, Any]]:
    alarms = [alarm["Properties"] for alarm in _of_type(resources, "AWS::CloudWatch::Alarm").values()]
    for props in alarms:
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], props
    return alarms


def _alarmed(resources: dict[str, Any], namespace: str, metric: str, dimension: str) -> set[str]:
    return {
        dim["Value"]["Ref"]
        for props in _alarms(resources)
        if props["Namespace"] == namespace and props["MetricName"] == metric
        for dim in props["Dimensions"]
        if dim["Name"] == dimension
    }


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_alarm_on(resources: dict[str, Any], metric: str) -> None:
    functions = set(_of_type(resources, "AWS::Serverless::Function"))
    assert functions <= _alarmed(resources, "AWS/Lambda", metric, "FunctionName")


def test_the_api_has_a_server_error_alarm(resources: dict[str, Any]) -> None:
    apis = set(_of_type(resources, "AWS::Serverless::HttpApi"))
    assert apis
    assert apis <= _alarmed(resources, "AWS/ApiGateway", "5xx", "ApiId")  # HTTP APIs publish 5xx, not 5XXError


def test_every_stream_consumer_has_an_iterator_age_alarm(resources: dict[str, Any]) -> None:
    consumers = {fn for fn, _, _ in _events(resources, "DynamoDB", "Kinesis")}
    assert consumers
    assert consumers <= _alarmed(resources, "AWS/Lambda", "IteratorAge", "FunctionName")


def test_the_alarm_topic_is_an_output(template: dict[str, Any]) -> None:
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert template["Outputs"]["ApiKeysSecretArn"]["Value"] == {"Ref": "ApiKeysSecret"}


# --------------------------------------------------------------------------- checkov skip reasons
_SERVICES = {
    "DynamoDB": "dynamodb",
    "Secrets Manager": "secretsmanager",
    "SQS": "sqs",
    "SES": "ses",
    "SNS": "sns",
    "S3": "s3",
    "X-Ray": "xray",
    "KMS": "kms",
    "EventBridge": "events",
}


def test_a_functions_vpc_skip_names_only_services_it_may_reach(resources: dict[str, Any]) -> None:
    """CKV_AWS_117's reason lists what the function talks to: each service it names must be
    one the function is granted (its Policies, or the failure destination Lambda sends to)."""
    for name, fn in _of_type(resources, "AWS::Serverless::Function").items():
        props = fn["Properties"]
        granted = {
            str(action).split(":")[0]
            for statement in _statements(_as_list(props.get("Policies", [])))
            for action in _as_list(statement["Action"])
        }
        events = props.get("Events", {}).values()
        if props.get("DeadLetterQueue") or any("DestinationConfig" in e.get("Properties", {}) for e in events):
            granted.add("sqs")
        skips = {s["id"]: s["comment"] for s in fn["Metadata"]["checkov"]["skip"]}
        named = {
            prefix
            for service, prefix in _SERVICES.items()
            if re.search(rf"\b{re.escape(service)}\b", skips["CKV_AWS_117"])
        }
        assert named, name
        assert named <= granted, f"{name}'s CKV_AWS_117 reason names {sorted(named - granted)}, which it is not granted"


# --------------------------------------------------------------------------- business metrics
def test_the_business_metrics_namespace_is_the_codes_and_alarms_on_them_name_what_it_publishes(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    from backorders.adapters.metrics import NAMESPACE, Metric

    # the code fixes the namespace (powertools would ignore this variable): none that seems to set it
    assert "POWERTOOLS_METRICS_NAMESPACE" not in template["Globals"]["Function"]["Environment"]["Variables"]
    for name, alarm in _of_type(resources, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if not str(props.get("Namespace", "AWS/")).startswith("AWS/"):
            assert props["Namespace"] == NAMESPACE, name
            assert props["MetricName"] in {m.value for m in Metric}, name
            assert {d["Name"] for d in props.get("Dimensions", [])} == {"service"}, name
