"""Create the stack's resources in moto, exactly as template.yaml declares them."""

from __future__ import annotations

import json
import logging
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import PhysicalResource, QueueSpec, SecretSpec, TableSpec, Template

__all__ = ["Provisioned", "create_table_request", "provision"]

log = logging.getLogger("localcloud")

_QUEUE_ATTRIBUTES = {
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
}


@dataclass
class Provisioned:
    """Physical names of everything created, by logical id."""

    resources: dict[str, PhysicalResource] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    secret_arns: dict[str, str] = field(default_factory=dict)
    ses_identities: list[str] = field(default_factory=list)

    def queue_url_for_arn(self, arn: str) -> str | None:
        for logical_id, queue_arn in self.queue_arns.items():
            if queue_arn == arn:
                return self.queue_urls[logical_id]
        return None


def _cfn_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def create_table_request(spec: TableSpec, table_name: str) -> dict[str, Any]:
    """The ``CreateTable`` request for a table resource of the template."""
    props = spec.properties
    provisioned = spec.billing_mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": spec.attribute_definitions,
        "KeySchema": spec.key_schema,
        "BillingMode": spec.billing_mode,
    }
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    gsis = []
    for index in spec.global_secondary_indexes:
        gsi: dict[str, Any] = {
            "IndexName": index["IndexName"],
            "KeySchema": index["KeySchema"],
            "Projection": index.get("Projection") or {"ProjectionType": "ALL"},
        }
        if provisioned:
            gsi["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i.get("Projection")}
        for i in spec.local_secondary_indexes
    ]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    stream = spec.stream_specification
    if stream and stream.get("StreamViewType"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        sse_request: dict[str, Any] = {"Enabled": bool(sse.get("SSEEnabled", False))}
        if sse.get("SSEType"):
            sse_request["SSEType"] = sse["SSEType"]
        if sse.get("KMSMasterKeyId"):
            sse_request["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
        request["SSESpecification"] = sse_request
    if props.get("Tags"):
        request["Tags"] = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props["Tags"]]
    return request


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


def _create_table(template: Template, spec: TableSpec, clients: Mapping[str, Any], out: Provisioned) -> None:
    dynamodb = clients["dynamodb"]
    name = spec.declared_name or template.physical_name(spec.logical_id)
    description = dynamodb.create_table(**create_table_request(spec, name))["TableDescription"]
    ttl = spec.time_to_live
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = spec.properties.get("PointInTimeRecoverySpecification") or {}
    if pitr.get("PointInTimeRecoveryEnabled"):
        try:
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        except Exception as exc:  # not essential locally
            log.debug("point-in-time recovery not enabled on %s: %s", name, exc)
    attributes = {"Arn": description["TableArn"]}
    stream_arn = description.get("LatestStreamArn")
    if stream_arn:
        attributes["StreamArn"] = stream_arn
        out.stream_arns[spec.logical_id] = stream_arn
    out.tables[spec.logical_id] = name
    out.resources[spec.logical_id] = PhysicalResource(ref=name, attributes=attributes)


def _create_queue(template: Template, spec: QueueSpec, clients: Mapping[str, Any], out: Provisioned) -> None:
    sqs = clients["sqs"]
    props = template.resolve(dict(spec.properties), out.resources)
    name = str(props.get("QueueName") or template.physical_name(spec.logical_id))
    if props.get("FifoQueue") and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {key: _cfn_value(value) for key, value in props.items() if key in _QUEUE_ATTRIBUTES}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    out.queue_urls[spec.logical_id] = url
    out.queue_arns[spec.logical_id] = arn
    out.resources[spec.logical_id] = PhysicalResource(
        ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url}
    )


def _generate_secret(options: Mapping[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if not options.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    excluded = str(options.get("ExcludeCharacters") or "")
    alphabet = "".join(c for c in alphabet if c not in excluded)
    password = "".join(secrets.choice(alphabet) for _ in range(int(options.get("PasswordLength", 32))))
    template_text = options.get("SecretStringTemplate")
    key = options.get("GenerateStringKey")
    if template_text and key:
        data = json.loads(str(template_text))
        data[str(key)] = password
        return json.dumps(data)
    return password


def _create_secret(template: Template, spec: SecretSpec, clients: Mapping[str, Any], out: Provisioned) -> None:
    props = template.resolve(dict(spec.properties), out.resources)
    name = str(props.get("Name") or template.physical_name(spec.logical_id))
    secret_string = props.get("SecretString")
    if secret_string is None and props.get("GenerateSecretString") is not None:
        secret_string = _generate_secret(props["GenerateSecretString"])
    request: dict[str, Any] = {"Name": name}
    if secret_string is not None:  # neither property: an empty secret, no version (as CloudFormation)
        request["SecretString"] = str(secret_string)
    if props.get("Description"):
        request["Description"] = str(props["Description"]).strip()
    arn = clients["secretsmanager"].create_secret(**request)["ARN"]
    out.secret_arns[spec.logical_id] = arn
    out.resources[spec.logical_id] = PhysicalResource(ref=arn, attributes={"Id": arn})


def _verify_identity(identity: str, clients: Mapping[str, Any], out: Provisioned) -> None:
    ses = clients["ses"]
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        ses.verify_domain_identity(Domain=identity)
    out.ses_identities.append(identity)


def provision(template: Template, clients: Mapping[str, Any]) -> Provisioned:
    """Create tables, queues, secrets and SES identities; return their physical names.

    ``clients`` maps service names (dynamodb, sqs, secretsmanager, ses) to boto3
    clients of the moto server.
    """
    out = Provisioned()
    for spec in template.tables.values():
        _create_table(template, spec, clients, out)
    queues = template.queues
    for queue_spec in queues.values():
        _create_queue(template, queue_spec, clients, out)
    for queue_spec in queues.values():  # redrive policies point at other queues: set them last
        redrive = queue_spec.properties.get("RedrivePolicy")
        if redrive:
            resolved = template.resolve(redrive, out.resources)
            clients["sqs"].set_queue_attributes(
                QueueUrl=out.queue_urls[queue_spec.logical_id], Attributes={"RedrivePolicy": _cfn_value(resolved)}
            )
    for secret_spec in template.secrets.values():
        _create_secret(template, secret_spec, clients, out)
    identities = list(dict.fromkeys([*template.ses_identities, *filter(None, [template.sender_email])]))
    for identity in identities:
        _verify_identity(identity, clients, out)
    for logical_id, resource in template.resources.items():
        if resource.get("Type") == "AWS::Serverless::Function" and logical_id not in out.resources:
            name = template.physical_name(logical_id)
            arn = f"arn:aws:lambda:{template.region}:{template.account_id}:function:{name}"
            out.resources[logical_id] = PhysicalResource(ref=name, attributes={"Arn": arn})
    return out
