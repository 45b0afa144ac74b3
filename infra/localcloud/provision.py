"""Create the stack's tables, queues, secrets and SES identities in moto, as template.yaml declares them.

Not moto's CloudFormation ``create_stack``: on the translated template it creates no secret and
no SES identity, ignores TTL and point-in-time recovery, and suffixes every name at random
(docs/decisions.md, 37).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import PhysicalResource, Template

__all__ = ["Provisioned", "as_text", "create_table", "provision"]


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
        return next((self.queue_urls[lid] for lid, queue_arn in self.queue_arns.items() if queue_arn == arn), None)


def create_table(client: Any, properties: Mapping[str, Any], name: str) -> str:
    """The one table builder (local cloud, tests, benchmarks): an ``AWS::DynamoDB::Table``'s
    properties as CreateTable, UpdateTimeToLive and UpdateContinuousBackups. Deletion
    protection is left off: local tables are thrown away."""
    request = {"TableName": name, "BillingMode": properties.get("BillingMode", "PROVISIONED")}
    request |= {k: v for k, v in properties.items() if k in ("AttributeDefinitions", "KeySchema", "Tags")}
    request |= {k: v for k, v in properties.items() if k == "ProvisionedThroughput"}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(key):  # CloudFormation's index options beyond these have no CreateTable field
            wanted = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
            request[key] = [{k: v for k, v in index.items() if k in wanted} for index in properties[key]]
    if (properties.get("StreamSpecification") or {}).get("StreamViewType"):
        request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    if sse := dict(properties.get("SSESpecification") or {}):
        request["SSESpecification"] = {"Enabled": bool(sse.pop("SSEEnabled", False)), **sse}
    client.create_table(**request)
    if (ttl := properties.get("TimeToLiveSpecification") or {}).get("Enabled"):
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    if (pitr := properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
        client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
    return name


def as_text(value: Any) -> str:
    """A value as CloudFormation writes it into a string property (or an environment variable)."""
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def provision(template: Template, clients: Mapping[str, Any]) -> Provisioned:
    """Create what the template declares; ``clients``: boto3 clients of moto by service name."""
    out = Provisioned(resources=dict(template.default_resources))
    for lid, props in template.tables.items():
        name = create_table(clients["dynamodb"], props, str(props.get("TableName") or template.physical_name(lid)))
        table = clients["dynamodb"].describe_table(TableName=name)["Table"]
        out.tables[lid], attributes = name, {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            out.stream_arns[lid] = attributes["StreamArn"] = table["LatestStreamArn"]
        out.resources[lid] = PhysicalResource(name, attributes)
    sqs, queues = clients["sqs"], template.resources_of_type("AWS::SQS::Queue")
    for lid in sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid]):  # dead-letter queues first
        props = template.resolve(queues[lid], out.resources)
        name = str(props.get("QueueName") or template.physical_name(lid))
        attributes = {k: as_text(v) for k, v in props.items() if k not in ("QueueName", "Tags")}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        out.queue_urls[lid], out.queue_arns[lid] = url, arn
        out.resources[lid] = PhysicalResource(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})
    for lid, props in template.resources_of_type("AWS::SecretsManager::Secret").items():
        props = template.resolve(props, out.resources)
        request = {"Name": str(props.get("Name") or template.physical_name(lid))}  # no value: template test
        if props.get("Description"):
            request["Description"] = str(props["Description"]).strip()
        if generate := props.get("GenerateSecretString"):  # as Secrets Manager would: a random value
            request["SecretString"] = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))[:64]
        out.secret_arns[lid] = arn = clients["secretsmanager"].create_secret(**request)["ARN"]
        out.resources[lid] = PhysicalResource(arn, {"Id": arn})
    for identity in dict.fromkeys([*template.ses_identities, *filter(None, [template.sender_email])]):
        if "@" in identity:
            clients["ses"].verify_email_identity(EmailAddress=identity)
        else:
            clients["ses"].verify_domain_identity(Domain=identity)
        out.ses_identities.append(identity)
    return out
