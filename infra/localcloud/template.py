"""template.yaml as the CloudFormation AWS would deploy: samtranslator's SAM transform (and
YAML loader), then conditions and intrinsic functions resolved against the resources the
local cloud has created (docs/decisions.md 36, 49). No second copy of the template."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

__all__ = ["DEFAULT_STACK_NAME", "LOCAL_PARAMETERS", "REGION", "EventSpec", "FunctionSpec", "Template"]

DEFAULT_STACK_NAME = "backorders-local"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ROUTE = "AWS::ApiGatewayV2::Route"  # what API Gateway makes of each path and method of an OpenAPI body

# The local stack's own parameter values, as `sam deploy --parameter-overrides` gives them
# (overrides still win): SenderEmail is empty in the template, locally it is always verified;
# the buyers' mail goes to a local address too (every message lands in the outbox).
LOCAL_PARAMETERS = {"SenderEmail": "backorders@example.com", "BuyerEmail": "buyer@example.com"}


class TemplateError(ValueError):
    """template.yaml cannot be read or used locally."""


def load_yaml(text: str) -> dict[str, Any]:
    """CloudFormation YAML, short tags (``!Ref``, ``!GetAtt`` ...) in their long form."""
    data = yaml_parse(text)
    if not isinstance(data, dict):
        raise TemplateError("the template is not a YAML mapping")
    return data


@dataclass(frozen=True)
class PhysicalResource:
    """What ``Ref`` and ``Fn::GetAtt`` of one resource resolve to locally."""

    physical_resource_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventSpec:
    """What invokes a function: an event source mapping, a schedule, a rule or an HTTP API route."""

    name: str
    type: str
    properties: Mapping[str, Any]  # unresolved CloudFormation properties


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Lambda::Function`` as SAM translated it (Globals merged)."""

    logical_id: str
    code_uri: Path
    handler: str
    memory_size: int
    timeout: int
    environment: Mapping[str, Any]  # unresolved values
    layers: tuple[Path, ...]  # the layers' content folders
    events: Mapping[str, EventSpec]
    reserved_concurrency: int | None
    properties: Mapping[str, Any]
    invoke_config: Mapping[str, Any]  # its AWS::Lambda::EventInvokeConfig, if any (unresolved)

    @property
    def module_name(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def function_name(self) -> str:
        return self.handler.rpartition(".")[2]

    def events_of_type(self, *types: str) -> list[EventSpec]:
        return [event for event in self.events.values() if event.type in types]


class Template:
    """template.yaml translated by the SAM transform, with the parameter values of one local stack."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        base_dir: Path,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, Any] | None = None,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.stack_name, self.region, self.account_id = stack_name, region, account_id
        self.parameter_values = _parameter_values(data.get("Parameters") or {}, parameter_overrides or {})
        self.data = _transform(data, base_dir, self.parameter_values, region)
        self._names = {
            "AWS::AccountId": account_id,
            "AWS::Region": region,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
            "AWS::Partition": "aws",
            **(self.data.get("Mappings") or {}),
            **self.parameter_values,
        }
        self.conditions: dict[str, bool] = {}
        for name in self.data.get("Conditions") or {}:
            self.condition(name)
        self.resources = {
            lid: res
            for lid, res in self.data["Resources"].items()
            if res.get("Condition") is None or self.conditions[res["Condition"]]
        }
        self.default_resources = {lid: self._default(lid, res["Type"]) for lid, res in self.resources.items()}
        self.functions = {lid: self._function(lid) for lid in self.resources_of_type("AWS::Lambda::Function")}

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> Template:
        template_path = Path(path).resolve()
        try:
            text = template_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read template {template_path}: {exc}") from exc
        return cls(load_yaml(text), base_dir=template_path.parent, **options)

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: res.get("Properties") or {} for lid, res in self.resources.items() if res["Type"] == resource_type}

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        """Every table's properties, resolved (they name no other resource)."""
        return {lid: self.resolve(props) for lid, props in self.resources_of_type("AWS::DynamoDB::Table").items()}

    @property
    def ses_identities(self) -> list[str]:
        identities = self.resources_of_type("AWS::SES::EmailIdentity").values()
        return [str(value) for props in identities if (value := self.resolve(props.get("EmailIdentity")))]

    @property
    def sender_email(self) -> str | None:
        value = self.parameter_values.get("SenderEmail")
        return None if value is None else str(value)

    def function(self, logical_id: str) -> FunctionSpec:
        if logical_id not in self.functions:
            raise KeyError(f"template has no function {logical_id!r}")
        return self.functions[logical_id]

    def _function(self, lid: str) -> FunctionSpec:
        props = self.resources[lid]["Properties"]
        handler, key = props.get("Handler"), (props.get("Code") or {}).get("S3Key")
        if not isinstance(key, str) or not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{lid}: the local cloud needs a local CodeUri and a module.function Handler")
        layers = self.resources_of_type("AWS::Lambda::LayerVersion")
        reserved = self.resolve(props.get("ReservedConcurrentExecutions"))
        invoke_configs = self.resources_of_type("AWS::Lambda::EventInvokeConfig").values()
        return FunctionSpec(
            logical_id=lid,
            code_uri=Path(key),
            handler=handler,
            memory_size=int(props.get("MemorySize", 128)),
            timeout=int(props.get("Timeout", 3)),
            environment=dict((props.get("Environment") or {}).get("Variables") or {}),
            layers=tuple(Path(layers[r["Ref"]]["Content"]["S3Key"]) for r in props.get("Layers") or () if "Ref" in r),
            events=dict(self._events_of(lid)),
            reserved_concurrency=None if reserved is None else int(reserved),
            properties=props,
            invoke_config=next((p for p in invoke_configs if self._calls(p.get("FunctionName"), lid)), {}),
        )

    def _events_of(self, fid: str) -> Iterator[tuple[str, EventSpec]]:
        """What invokes ``fid``, named as SAM names the events (``<Function><Event>``, less the function)."""
        for lid, res in self.resources.items():
            kind, props, name = res["Type"], res.get("Properties") or {}, lid.removeprefix(fid) or lid
            invoker = {"AWS::Lambda::EventSourceMapping": "FunctionName", "AWS::Scheduler::Schedule": "Target"}
            if kind in invoker and self._calls(props.get(invoker[kind]), fid):
                yield name, EventSpec(name, kind, props)
            elif kind == "AWS::ApiGatewayV2::Api":
                for path, operations in ((props.get("Body") or {}).get("paths") or {}).items():
                    for method, operation in operations.items():
                        if self._calls(operation.get("x-amazon-apigateway-integration"), fid):
                            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                            key = path if path == "$default" else f"{verb} {path}"
                            yield key, EventSpec(key, ROUTE, {"ApiId": {"Ref": lid}, "RouteKey": key})

    def _calls(self, value: Any, fid: str) -> bool:
        """Whether ``value`` (a name, an ARN, a target or an integration) names function ``fid``."""
        if isinstance(value, dict) and not any(key == "Ref" or key.startswith("Fn::") for key in value):
            value = value.get("Arn", value.get("uri"))  # a schedule's target, an integration
        function, resolved = self.default_resources[fid], str(self.resolve(value))
        arn = function.attributes["Arn"]
        return resolved in (function.physical_resource_id, arn) or f"/functions/{arn}/" in resolved

    def physical_name(self, logical_id: str) -> str:
        """The local name of a resource: ``<StackName>-<LogicalId>``."""
        return f"{self.stack_name}-{logical_id}"

    def _default(self, lid: str, resource_type: str) -> PhysicalResource:
        """A resource's deterministic Ref and ARN (provisioning refines them)."""
        service, name = resource_type.split("::")[1].lower(), self.physical_name(lid)
        kind = "function:" if service == "lambda" else ""
        return PhysicalResource(name, {"Arn": f"arn:aws:{service}:{self.region}:{self.account_id}:{kind}{name}"})

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(_resolve(self.data["Conditions"][name], self._names, self.condition))
        return self.conditions[name]

    def resolve(self, value: Any, resources: Mapping[str, PhysicalResource] | None = None) -> Any:
        """Evaluate intrinsic functions in ``value`` against the local physical resources."""
        return _resolve(value, {**self._names, **self.default_resources, **(resources or {})}, self.condition)


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "Fn::Equals": lambda args: str(args[0]) == str(args[1]),
    "Fn::Not": lambda args: not args[0],
    "Fn::And": all,
    "Fn::Or": any,
    "Fn::Join": lambda args: str(args[0]).join(str(item) for item in args[1]),
    "Fn::Select": lambda args: args[1][int(args[0])],
    "Fn::Split": lambda args: str(args[1]).split(str(args[0])),
}


def _resolve(value: Any, names: Mapping[str, Any], condition: Callable[[str], bool]) -> Any:
    """The intrinsic functions template.yaml uses (and Join, Select, Split); ``AWS::NoValue``
    removes its key, as CloudFormation does. Our own, not moto's resolver: decision 49."""

    def name(text: str) -> Any:
        if text not in names:
            raise TemplateError(f"{text}: no such parameter or resource")
        found = names[text]
        return found.physical_resource_id if isinstance(found, PhysicalResource) else found

    def attribute(lid: str, attr: str) -> str:
        name(lid)
        resource = names[lid]
        return str(resource.attributes.get(attr, f"{resource.physical_resource_id}.{attr}"))  # placeholder

    def sub(match: re.Match[str]) -> str:
        text = match.group(1)
        if text.startswith("!"):
            return "${" + text[1:] + "}"
        return str(extra[text] if text in extra else attribute(*text.split(".", 1)) if "." in text else name(text))

    def again(item: Any) -> Any:
        return _resolve(item, names, condition)

    if isinstance(value, list):
        return [again(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return name(arg)
        if key == "Fn::GetAtt":
            return attribute(*(arg.split(".", 1) if isinstance(arg, str) else arg))
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], again(arg[1]))
            return re.sub(r"\$\{([^}]+)\}", sub, text)
        if key == "Fn::If":
            return again(arg[1] if condition(arg[0]) else arg[2])
        if key == "Condition" and isinstance(arg, str):
            return condition(arg)
        if key in _FUNCTIONS:
            return _FUNCTIONS[key](again(arg))
    resolved = {key: again(item) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not None}  # AWS::NoValue


def _parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    if unknown := set(overrides) - set(declared):
        raise TemplateError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        value = values[name] = overrides.get(name, LOCAL_PARAMETERS.get(name, spec.get("Default")))
        allowed, pattern = spec.get("AllowedValues"), spec.get("AllowedPattern")
        if value is None:
            raise TemplateError(f"parameter {name} has no default: pass a value for it")
        if allowed is not None and str(value) not in {str(v) for v in allowed}:
            raise TemplateError(f"parameter {name}={value!r} is not one of {list(allowed)}")
        if pattern and not re.fullmatch(pattern, str(value)):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
    return values


def _transform(data: Mapping[str, Any], base_dir: Path, parameters: dict[str, Any], region: str) -> dict[str, Any]:
    """The SAM transform, local code folders standing in for uploaded code (``S3Key`` is the folder)."""
    sam = {**data, "Resources": {lid: dict(res) for lid, res in (data.get("Resources") or {}).items()}}
    for resource in sam["Resources"].values():
        props = resource["Properties"] = dict(resource.get("Properties") or {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = {"Bucket": "local", "Key": str((base_dir / props[key]).resolve())}
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        cfn: dict[str, Any] = translator.translate(sam, parameter_values=dict(parameters), get_managed_policy_map=dict)
        return cfn
    except InvalidDocumentException as exc:
        raise TemplateError(f"the SAM transform refused the template: {exc.message}") from exc
    finally:
        translator.metrics.publish()  # to its dummy publisher: unpublished metrics are logged at exit
