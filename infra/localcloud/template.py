"""Read the SAM template the way CloudFormation would, for the local cloud.

template.yaml is the only description of the stack: the local cloud never keeps a
second copy of a table schema, an environment variable or an event source. This
module parses it (short tags such as ``!Ref`` and ``!GetAtt`` included), evaluates
its conditions, merges ``Globals`` into every function as SAM does, and resolves
intrinsic functions against the resources the local cloud has created.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_STACK_NAME",
    "LOCAL_PARAMETERS",
    "REGION",
    "EventSpec",
    "FunctionSpec",
    "LayerSpec",
    "ParameterSpec",
    "PhysicalResource",
    "QueueSpec",
    "SecretSpec",
    "TableSpec",
    "Template",
    "TemplateError",
    "load_yaml",
]

DEFAULT_STACK_NAME = "backorders-local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account

TABLE_TYPE = "AWS::DynamoDB::Table"
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
QUEUE_TYPE = "AWS::SQS::Queue"
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
SES_IDENTITY_TYPE = "AWS::SES::EmailIdentity"

_NO_VALUE = object()  # AWS::NoValue: the property is removed

# The local stack's own parameter values, as `sam deploy --parameter-overrides` gives a stack
# on AWS (overrides passed to Template still win). The template leaves SenderEmail empty (no
# identity, no mail until a deployer names an address); locally there is always a sender,
# verified in moto, so mail can be sent and captured.
LOCAL_PARAMETERS = {"SenderEmail": "backorders@example.com"}


class TemplateError(ValueError):
    """template.yaml cannot be read or used locally."""


# --------------------------------------------------------------------- YAML


class _CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation short tags into long-form dicts."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported node for !{tag_suffix}")
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> dict[str, Any]:
    """Parse CloudFormation YAML, short tags included."""
    data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - _CfnLoader is a SafeLoader
    if not isinstance(data, dict):
        raise TemplateError("the template is not a YAML mapping")
    return data


# --------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any
    allowed_values: tuple[Any, ...] | None
    allowed_pattern: str | None


@dataclass(frozen=True)
class PhysicalResource:
    """What ``!Ref`` and ``!GetAtt`` of one logical resource resolve to locally."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    properties: Mapping[str, Any]

    @property
    def attribute_definitions(self) -> list[dict[str, str]]:
        return list(self.properties.get("AttributeDefinitions", []))

    @property
    def key_schema(self) -> list[dict[str, str]]:
        return list(self.properties.get("KeySchema", []))

    @property
    def global_secondary_indexes(self) -> list[dict[str, Any]]:
        return list(self.properties.get("GlobalSecondaryIndexes", []))

    @property
    def local_secondary_indexes(self) -> list[dict[str, Any]]:
        return list(self.properties.get("LocalSecondaryIndexes", []))

    @property
    def stream_specification(self) -> dict[str, Any] | None:
        spec = self.properties.get("StreamSpecification")
        return dict(spec) if spec else None

    @property
    def time_to_live(self) -> dict[str, Any] | None:
        spec = self.properties.get("TimeToLiveSpecification")
        return dict(spec) if spec else None

    @property
    def billing_mode(self) -> str:
        return str(self.properties.get("BillingMode", "PROVISIONED"))

    @property
    def declared_name(self) -> str | None:
        name = self.properties.get("TableName")
        return str(name) if name else None


@dataclass(frozen=True)
class EventSpec:
    name: str
    type: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """A function with ``Globals.Function`` merged in (SAM's merge rules)."""

    logical_id: str
    code_uri: Path
    handler: str
    runtime: str | None
    memory_size: int
    timeout: int
    environment: Mapping[str, Any]  # unresolved values
    layers: tuple[Any, ...]  # unresolved references
    events: Mapping[str, EventSpec]
    reserved_concurrency: int | None
    properties: Mapping[str, Any]

    @property
    def module_name(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def function_name(self) -> str:
        return self.handler.rpartition(".")[2]

    def events_of_type(self, *types: str) -> list[EventSpec]:
        return [event for event in self.events.values() if event.type in types]


@dataclass(frozen=True)
class LayerSpec:
    logical_id: str
    content_uri: Path


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    properties: Mapping[str, Any]


# --------------------------------------------------------------------- template

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Template:
    """A parsed SAM template plus the parameter values of one local stack."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        base_dir: Path,
        path: Path | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, Any] | None = None,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.data: dict[str, Any] = copy.deepcopy(dict(data))
        self.base_dir = base_dir
        self.path = path
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = self._read_parameters()
        self.parameter_values = self._parameter_values(parameter_overrides or {})
        self._conditions: dict[str, bool] = {}
        self.conditions = {name: self._condition(name) for name in self.data.get("Conditions", {})}

    # ------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, Any] | None = None,
        region: str = REGION,
    ) -> Template:
        template_path = Path(path).resolve()
        try:
            text = template_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read template {template_path}: {exc}") from exc
        return cls(
            load_yaml(text),
            base_dir=template_path.parent,
            path=template_path,
            stack_name=stack_name,
            parameter_overrides=parameter_overrides,
            region=region,
        )

    def _read_parameters(self) -> dict[str, ParameterSpec]:
        params: dict[str, ParameterSpec] = {}
        for name, spec in (self.data.get("Parameters") or {}).items():
            allowed = spec.get("AllowedValues")
            params[name] = ParameterSpec(
                name=name,
                type=str(spec.get("Type", "String")),
                default=spec.get("Default"),
                allowed_values=tuple(allowed) if allowed is not None else None,
                allowed_pattern=spec.get("AllowedPattern"),
            )
        return params

    def _parameter_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, spec in self.parameters.items():
            value = overrides.get(name, LOCAL_PARAMETERS.get(name, spec.default))
            if value is None:
                raise TemplateError(f"parameter {name} has no default: pass a value for it")
            if spec.allowed_values is not None and str(value) not in {str(v) for v in spec.allowed_values}:
                raise TemplateError(f"parameter {name}={value!r} is not one of {list(spec.allowed_values)}")
            if spec.allowed_pattern and not re.fullmatch(spec.allowed_pattern, str(value)):
                raise TemplateError(f"parameter {name}={value!r} does not match {spec.allowed_pattern}")
            values[name] = value
        return values

    # ------------------------------------------------------------ resources

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource whose Condition (if any) holds."""
        result: dict[str, dict[str, Any]] = {}
        for logical_id, resource in (self.data.get("Resources") or {}).items():
            condition = resource.get("Condition")
            if condition is not None and not self._condition(condition):
                continue
            result[logical_id] = resource
        return result

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == resource_type}

    def resource_type(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return None if resource is None else str(resource.get("Type"))

    @property
    def tables(self) -> dict[str, TableSpec]:
        return {
            lid: TableSpec(lid, self.resolve(res.get("Properties") or {}))
            for lid, res in self.resources_of_type(TABLE_TYPE).items()
        }

    @property
    def queues(self) -> dict[str, QueueSpec]:
        return {
            lid: QueueSpec(lid, dict(res.get("Properties") or {}))
            for lid, res in self.resources_of_type(QUEUE_TYPE).items()
        }

    @property
    def secrets(self) -> dict[str, SecretSpec]:
        return {
            lid: SecretSpec(lid, dict(res.get("Properties") or {}))
            for lid, res in self.resources_of_type(SECRET_TYPE).items()
        }

    @property
    def layers(self) -> dict[str, LayerSpec]:
        layers: dict[str, LayerSpec] = {}
        for lid, res in self.resources_of_type(LAYER_TYPE).items():
            content_uri = (res.get("Properties") or {}).get("ContentUri")
            if isinstance(content_uri, str):
                layers[lid] = LayerSpec(lid, (self.base_dir / content_uri).resolve())
        return layers

    @property
    def ses_identities(self) -> list[str]:
        """Every SES identity the stack declares (resolved: e-mail addresses or domains)."""
        identities = []
        for res in self.resources_of_type(SES_IDENTITY_TYPE).values():
            value = self.resolve((res.get("Properties") or {}).get("EmailIdentity"))
            if value:
                identities.append(str(value))
        return identities

    @property
    def sender_email(self) -> str | None:
        """The ``SenderEmail`` parameter value (default or override), if the template has one."""
        value = self.parameter_values.get("SenderEmail")
        return None if value is None else str(value)

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = dict((self.data.get("Globals") or {}).get("Function") or {})
        functions: dict[str, FunctionSpec] = {}
        for lid, res in self.resources_of_type(FUNCTION_TYPE).items():
            props = _merge_globals(globals_, dict(res.get("Properties") or {}))
            code_uri = props.get("CodeUri")
            handler = props.get("Handler")
            if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
                raise TemplateError(f"{lid}: the local cloud needs a local CodeUri and a module.function Handler")
            variables = dict(((props.get("Environment") or {}).get("Variables")) or {})
            events = {
                name: EventSpec(name, str(event.get("Type")), dict(event.get("Properties") or {}))
                for name, event in (props.get("Events") or {}).items()
            }
            reserved = self.resolve(props.get("ReservedConcurrentExecutions"))  # a parameter, or none
            functions[lid] = FunctionSpec(
                logical_id=lid,
                code_uri=(self.base_dir / code_uri).resolve(),
                handler=handler,
                runtime=props.get("Runtime"),
                memory_size=int(props.get("MemorySize", 128)),
                timeout=int(props.get("Timeout", 3)),
                environment=variables,
                layers=tuple(props.get("Layers") or ()),
                events=events,
                reserved_concurrency=None if reserved is None else int(reserved),
                properties=props,
            )
        return functions

    def function(self, logical_id: str) -> FunctionSpec:
        try:
            return self.functions[logical_id]
        except KeyError:
            raise KeyError(f"template has no function {logical_id!r}") from None

    # ------------------------------------------------------------ physical names

    def physical_name(self, logical_id: str) -> str:
        """The local name of a resource: ``<StackName>-<LogicalId>``."""
        return f"{self.stack_name}-{logical_id}"

    def default_physical_resources(self) -> dict[str, PhysicalResource]:
        """Deterministic Ref/GetAtt values for every resource (refined after provisioning)."""
        result: dict[str, PhysicalResource] = {}
        for lid, res in self.resources.items():
            name = self.physical_name(lid)
            rtype = str(res.get("Type"))
            service = rtype.split("::")[1].lower() if rtype.count("::") >= 2 else "cloudformation"
            arn = f"arn:aws:{service}:{self.region}:{self.account_id}:{name}"
            result[lid] = PhysicalResource(ref=name, attributes={"Arn": arn})
        return result

    # ------------------------------------------------------------ intrinsic functions

    def resolve(self, value: Any, resources: Mapping[str, PhysicalResource] | None = None) -> Any:
        """Evaluate intrinsic functions in ``value`` against the local physical resources."""
        table = dict(self.default_physical_resources())
        if resources:
            table.update(resources)
        result = self._resolve(value, table)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any, resources: Mapping[str, PhysicalResource]) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item, resources) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(str(arg), resources)
            if key == "Condition" and isinstance(arg, str):
                return self._condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg, resources)
        result = {}
        for key, item in value.items():
            resolved = self._resolve(item, resources)
            if resolved is not _NO_VALUE:
                result[key] = resolved
        return result

    def _ref(self, name: str, resources: Mapping[str, PhysicalResource]) -> Any:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameter_values:
            return self.parameter_values[name]
        if name in resources:
            return resources[name].ref
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def _get_att(self, logical_id: str, attribute: str, resources: Mapping[str, PhysicalResource]) -> str:
        if logical_id not in resources:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: no such resource")
        physical = resources[logical_id]
        if attribute in physical.attributes:
            return physical.attributes[attribute]
        return f"{physical.ref}.{attribute}"  # placeholder for attributes nothing local uses

    def _function(self, name: str, arg: Any, resources: Mapping[str, PhysicalResource]) -> Any:
        if name == "Fn::GetAtt":
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            logical_id, attribute = (self._resolve(part, resources) for part in arg)
            return self._get_att(str(logical_id), str(attribute), resources)
        if name == "Fn::Sub":
            return self._sub(arg, resources)
        if name == "Fn::Join":
            delimiter, items = arg
            values = self._resolve(items, resources)
            return str(delimiter).join(str(v) for v in values)
        if name == "Fn::If":
            condition, when_true, when_false = arg
            chosen = when_true if self._condition(str(condition)) else when_false
            return self._resolve(chosen, resources)
        if name in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}:
            return self._evaluate_condition({name: arg})
        if name == "Fn::Select":
            index, items = arg
            return self._resolve(items, resources)[int(self._resolve(index, resources))]
        if name == "Fn::Split":
            delimiter, source = arg
            return str(self._resolve(source, resources)).split(str(delimiter))
        if name == "Fn::Base64":
            import base64

            return base64.b64encode(str(self._resolve(arg, resources)).encode()).decode()
        if name == "Fn::FindInMap":
            map_name, top, second = (self._resolve(part, resources) for part in arg)
            return self.data["Mappings"][map_name][top][second]
        if name == "Fn::GetAZs":
            return [f"{self.region}{suffix}" for suffix in "abc"]
        if name == "Fn::ToJsonString":
            return json.dumps(self._resolve(arg, resources), separators=(",", ":"))
        raise TemplateError(f"{name} is not supported by the local cloud")

    def _sub(self, arg: Any, resources: Mapping[str, PhysicalResource]) -> str:
        if isinstance(arg, list):
            text, variables = str(arg[0]), dict(arg[1])
        else:
            text, variables = str(arg), {}
        local = {key: self._resolve(val, resources) for key, val in variables.items()}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in local:
                return str(local[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return self._get_att(logical_id, attribute, resources)
            return str(self._ref(expression, resources))

        return _SUB_VARIABLE.sub(replace, text)

    # ------------------------------------------------------------ conditions

    def _condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.data.get("Conditions") or {}
            if name not in definitions:
                raise TemplateError(f"condition {name} is not defined")
            self._conditions[name] = bool(self._evaluate_condition(definitions[name]))
        return self._conditions[name]

    def _evaluate_condition(self, expression: Any) -> Any:
        if not isinstance(expression, dict) or len(expression) != 1:
            return self._resolve(expression, {})  # conditions may only use parameters
        ((key, arg),) = expression.items()
        if key == "Fn::Equals":
            left, right = (self._evaluate_condition(part) for part in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._evaluate_condition(arg[0])
        if key == "Fn::And":
            return all(self._evaluate_condition(part) for part in arg)
        if key == "Fn::Or":
            return any(self._evaluate_condition(part) for part in arg)
        if key == "Condition":
            return self._condition(str(arg))
        return self._resolve(expression, {})


def _merge_globals(globals_: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (resource wins), lists add up, scalars are replaced."""
    merged = copy.deepcopy(dict(globals_))
    for key, value in props.items():
        existing = merged.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            merged[key] = _merge_maps(existing, value)
        elif isinstance(existing, list) and isinstance(value, list):
            merged[key] = [*existing, *value]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge_maps(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
