"""The local cloud: moto, the template's resources and its functions in this process, wired
as on AWS (one at a time per process; its options and API: README.md)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from .apigateway import ApiServer, Router, routes_from_functions
from .mail import CapturedEmail, MailCapture
from .moto_patches import patched_moto
from .motoserver import LockedMotoServer
from .provision import Provisioned, as_text, provision
from .queues import SqsConsumer
from .runtime import (
    FunctionRuntime,
    Handler,
    HandlerLoadError,
    HandlerNotFound,
    ModuleSandbox,
    check_handler_module,
    failure_record,
    load_handler,
)
from .schedules import ScheduledJob, Scheduler
from .streams import Poller, StreamConsumer
from .template import DEFAULT_STACK_NAME, REGION, EventSpec, Template, TemplateError

__all__ = ["LocalCloud", "LocalCloudError"]

log = logging.getLogger("localcloud")

_DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_REMOVED_VARIABLES = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")

_running_lock = threading.Lock()
_running: LocalCloud | None = None


class LocalCloudError(RuntimeError):
    """The local cloud cannot start."""


class LocalCloud:
    """Everything template.yaml declares, running in this process against moto (options: README.md)."""

    def __init__(
        self,
        template: str | Path = "template.yaml",
        *,
        state_dir: str | Path | None = None,
        api_host: str = "127.0.0.1",
        api_port: int = 0,
        moto_host: str = "127.0.0.1",
        moto_port: int = 0,
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: Mapping[str, Any] | None = None,
        handler_overrides: Mapping[str, Handler] | None = None,
        fast: bool = False,
        batching_window: float | None = None,
        poll_interval: float | None = None,
        schedule_speed: float = 1.0,
        streams: bool = True,
        schedules: bool = True,
        strict_handlers: bool = False,
        region: str = REGION,
    ) -> None:
        self.template_path = Path(template).resolve()
        self.template = Template.load(
            self.template_path, stack_name=stack_name, parameter_overrides=parameter_overrides, region=region
        )
        if unknown := set(handler_overrides or {}) - set(self.template.functions):
            raise LocalCloudError(f"handler_overrides for unknown function(s): {', '.join(sorted(unknown))}")
        self.state_dir = Path(state_dir).resolve() if state_dir else self.template_path.parent / ".localcloud"
        self.region, self.fast, self._handler_overrides = region, fast, dict(handler_overrides or {})
        self._api_address, self._moto_address = (api_host, api_port), (moto_host, moto_port)
        self._batching_window, self._schedule_speed = batching_window, schedule_speed
        self._poll_interval = poll_interval if poll_interval is not None else (0.01 if fast else 0.25)
        self._with_streams, self._with_schedules, self._strict_handlers = streams, schedules, strict_handlers
        self.moto_lock = threading.RLock()
        self._moto: LockedMotoServer | None = None
        self._moto_patches = contextlib.ExitStack()
        self._api: ApiServer | None = None
        self._scheduler: Scheduler | None = None
        self._consumers: list[Poller] = []
        self._functions: dict[str, FunctionRuntime] = {}
        self._jobs: dict[tuple[str, str], ScheduledJob] = {}
        self._provisioned = Provisioned()
        self._sandbox = ModuleSandbox()
        self._saved_env: dict[str, str] | None = None
        self._clients: dict[str, Any] = {}
        self._session: boto3.session.Session | None = None
        self._mail = MailCapture(self.state_dir / "mail", self.moto_lock)
        self._mail_stop = threading.Event()
        self._mail_thread: threading.Thread | None = None
        self.environment: dict[str, str] = {}
        self._started = False

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        global _running
        with _running_lock:
            if _running is not None:
                raise LocalCloudError(
                    "another LocalCloud is already running in this process (moto state and os.environ are "
                    "process-wide): stop it first, or use module-scoped fixtures"
                )
            _running = self
        self._started = True
        started = time.monotonic()
        try:
            if self._strict_handlers:
                self._check_handler_modules()  # fail before starting anything
            self._start_moto()
            self._provision()
            self._set_function_environment()
            self._mail.clear()
            self._load_functions()
            self._warn_unsupported_events()
            self._start_streams()
            self._start_schedules()
            self._start_api()
            self._mail_thread = threading.Thread(target=self._mail_loop, name="localcloud-mail", daemon=True)
            self._mail_thread.start()
        except BaseException:
            self.stop()
            raise
        log.info("local cloud up in %.1f s: API %s, moto %s", time.monotonic() - started, self.api_url, self.moto_url)
        return self

    def stop(self) -> None:
        """Stop everything this cloud started, restore the environment. Safe to call twice."""
        global _running
        if not self._started:
            return
        self._started = False
        for step in (self._stop_api, self._stop_scheduler, self._stop_streams, self._stop_mail, self._stop_moto):
            try:
                step()
            except Exception:
                log.exception("%s failed", step.__name__)
        self._sandbox.close()
        self._restore_environment()
        with _running_lock:
            if _running is self:
                _running = None

    # ------------------------------------------------------------ moto + provisioning

    def _restore_environment(self) -> None:
        if self._saved_env is not None:
            os.environ.clear()
            os.environ.update(self._saved_env)
            self._saved_env = None

    def _start_moto(self) -> None:
        host, port = self._moto_address
        # moto's in-place rollback and per-request costs (moto_patches.py): without them a
        # cancelled transaction can hide later stream records from an open iterator
        self._moto_patches.enter_context(patched_moto())
        self._moto = LockedMotoServer(host, port, lock=self.moto_lock)
        try:
            self._moto.start()
        except OSError as exc:
            raise LocalCloudError(f"cannot start moto on {host}:{port}: {exc}") from exc
        self._moto.reset()
        self._saved_env = dict(os.environ)
        for name in _REMOVED_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(_DUMMY_CREDENTIALS, AWS_DEFAULT_REGION=self.region, AWS_REGION=self.region)
        os.environ["AWS_ENDPOINT_URL"] = self.moto_url
        self._session = boto3.session.Session(
            aws_access_key_id=_DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )

    def client(self, service: str) -> Any:
        """A boto3 client of the local moto server (cached per service; thread-safe to use)."""
        if self._session is None:
            raise LocalCloudError("the local cloud is not running")
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self.moto_url)  # type: ignore[call-overload]
        return self._clients[service]

    def _provision(self) -> None:
        services = ("dynamodb", "sqs", "secretsmanager", "ses")
        self._provisioned = provision(self.template, {name: self.client(name) for name in services})

    def _set_function_environment(self) -> None:
        merged: dict[str, str] = {}
        origin: dict[str, str] = {}
        for function_id, spec in self.template.functions.items():
            variables = self.template.resolve(dict(spec.environment), self._provisioned.resources)
            for name, raw in variables.items():
                value = as_text(raw)
                if name in merged and merged[name] != value:
                    raise TemplateError(
                        f"environment variable {name} is {merged[name]!r} in {origin[name]} but {value!r} in "
                        f"{function_id}; the local cloud runs every function in one process and cannot give "
                        "them different values"
                    )
                merged[name] = value
                origin.setdefault(name, function_id)
        os.environ.update(merged)
        self.environment = merged

    # ------------------------------------------------------------ functions

    def _check_handler_modules(self) -> None:
        errors = []
        for function_id, spec in self.template.functions.items():
            if function_id in self._handler_overrides:
                continue
            try:
                check_handler_module(spec)
            except HandlerNotFound as exc:
                errors.append(str(exc))
        if errors:
            raise LocalCloudError("; ".join(errors))

    def _load_functions(self) -> None:
        specs = self.template.functions
        layer_dirs = dict.fromkeys(folder for spec in specs.values() for folder in spec.layers)
        self._sandbox.add_paths([*(spec.code_uri for spec in specs.values()), *layer_dirs])
        errors: list[HandlerLoadError] = []
        for function_id, spec in specs.items():
            handler: Handler | None = None
            error: HandlerNotFound | None = None
            if function_id not in self._handler_overrides:
                self._sandbox.isolate(spec.code_uri)
                try:  # any other import error is a bug in the function's code: raised
                    handler = load_handler(spec)
                except HandlerNotFound as exc:
                    errors.append(error := exc)
            name, account_id = self.template.physical_name(function_id), self.template.account_id
            runtime = FunctionRuntime(spec, function_name=name, region=self.region, account_id=account_id,
                                      handler=handler, load_error=error)  # fmt: skip
            runtime.override(self._handler_overrides.get(function_id))
            self._functions[function_id] = runtime
        if errors:
            if self._strict_handlers:
                raise LocalCloudError("; ".join(str(e) for e in errors))
            for failed in errors:
                log.warning("%s (the function fails when invoked)", failed)

    def function(self, function_id: str) -> FunctionRuntime:
        try:
            return self._functions[function_id]
        except KeyError:
            raise KeyError(
                f"no function {function_id!r} (the template has {', '.join(sorted(self._functions))})"
            ) from None

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function synchronously (RequestResponse); exceptions propagate."""
        return self.function(function_id).invoke(event)

    def override_handler(self, function_id: str, handler: Handler | None) -> None:
        """Swap a function's handler while running (``None`` restores the template's)."""
        self.function(function_id).override(handler)

    def _warn_unsupported_events(self) -> None:
        """Invokers the local cloud does not emulate: other services' permissions, REST APIs."""
        for lid, props in self.template.resources_of_type("AWS::Lambda::Permission").items():
            if props.get("Principal") not in ("apigateway.amazonaws.com", "events.amazonaws.com"):
                log.warning("%s: invocations by %s are not emulated locally", lid, props.get("Principal"))
        for lid in self.template.resources_of_type("AWS::ApiGateway::RestApi"):
            log.warning("%s: REST APIs are not served by the local cloud", lid)

    # ------------------------------------------------------------ streams

    def _start_streams(self) -> None:
        if not self._with_streams:
            return
        streams_client = self.client("dynamodbstreams")
        for function_id, spec in self.template.functions.items():
            for event in spec.events_of_type("AWS::Lambda::EventSourceMapping"):
                props, name = self._resolved_event(event).properties, f"{function_id}.{event.name}"
                source, runtime = str(props["EventSourceArn"]), self._functions[function_id]
                timing = {"poll_interval": self._poll_interval, "batching_window": self._batching_window}
                queue_url = self._provisioned.queue_url_for_arn(source)
                if not props.get("Enabled", True):
                    continue
                if queue_url is not None:
                    sqs = self.client("sqs")
                    consumer: Poller = SqsConsumer(name, props, invoke=runtime.invoke, sqs_client=sqs,
                                                   queue_url=queue_url, region=self.region, fast=self.fast,
                                                   **timing)  # fmt: skip
                    consumer.start()
                    self._consumers.append(consumer)
                    continue
                if ":dynamodb:" not in source:
                    log.warning("%s: only DynamoDB streams and the stack's SQS queues are emulated locally", name)
                    continue
                consumer = StreamConsumer(
                    name,
                    props,
                    invoke=runtime.invoke,
                    streams_client=streams_client,
                    send=self._send,
                    function_arn=runtime.arn,
                    region=self.region,
                    fast=self.fast,
                    discard_iterator=self._discard_shard_iterator,
                    **timing,
                )
                consumer.start()
                self._consumers.append(consumer)

    def _resolved_event(self, event: EventSpec) -> EventSpec:
        properties = self.template.resolve(dict(event.properties), self._provisioned.resources)
        return EventSpec(event.name, event.type, properties)

    def _discard_shard_iterator(self, iterator: str) -> None:
        """Forget a used shard iterator (moto keeps every one it ever issued)."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        with self.moto_lock:
            dynamodbstreams_backends[self.template.account_id][self.region].shard_iterators.pop(iterator, None)

    def _stop_streams(self) -> None:
        for consumer in self._consumers:
            consumer.stop()
        self._consumers.clear()

    def wait_for_streams(self, timeout: float = 10.0) -> None:
        """Return once every write made before (and every write those cause) is delivered; else ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = [(consumer, consumer.progress()) for consumer in self._consumers]
            for consumer, (poll_seq, _, _) in snapshot:
                if not consumer.wait_idle_after(poll_seq, deadline):
                    raise TimeoutError(
                        f"stream consumer {consumer.name} did not catch up within {timeout} s "
                        f"(last error: {consumer.stats.last_error})"
                    )
            if all(
                consumer.progress()[1] == completed and not consumer.progress()[2]
                for consumer, (_, completed, _) in snapshot
            ):
                return

    # ------------------------------------------------------------ schedules

    def _start_schedules(self) -> None:
        for function_id, spec in self.template.functions.items():
            function_props = self.template.resolve(
                {"DeadLetterConfig": spec.properties.get("DeadLetterConfig"), "EventInvokeConfig": spec.invoke_config},
                self._provisioned.resources,
            )
            for event in spec.events_of_type("AWS::Scheduler::Schedule"):
                job = ScheduledJob.from_event(
                    function_id,
                    self._resolved_event(event),
                    default_name=f"{self.template.stack_name}-{function_id}-{event.name}",
                    function_properties=function_props,
                )
                self._jobs[(function_id, event.name)] = job
        if self._with_schedules and self._jobs:
            self._scheduler = Scheduler(
                list(self._jobs.values()),
                fire=self._fire_job,
                on_exhausted=self._schedule_exhausted,
                speed=self._schedule_speed,
                region=self.region,
                account_id=self.template.account_id,
            )
            self._scheduler.start()

    def _stop_scheduler(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None

    def _fire_job(self, job: ScheduledJob, event: Any) -> Any:
        log.info("schedule %s fired (%s)", job.key, job.expression_text)
        return self.invoke(job.function_id, event)

    def _send(self, queue_arn: str | None, message: Any, **attributes: str) -> bool:
        """Send ``message`` (JSON) to the queue ``queue_arn``, if it is one of the stack's."""
        url = self._provisioned.queue_url_for_arn(queue_arn) if queue_arn else None
        if url is not None:
            extra = {name: {"DataType": "Number" if value.isdigit() else "String", "StringValue": value}
                     for name, value in attributes.items()}  # fmt: skip
            self.client("sqs").send_message(
                QueueUrl=url, MessageBody=json.dumps(message), **({"MessageAttributes": extra} if extra else {})
            )
        return url is not None

    def _schedule_exhausted(self, job: ScheduledJob, event: Any, error: Exception, invocations: int) -> None:
        """Lambda's asynchronous-invocation failure handling: DLQ and/or on-failure destination."""
        sent: list[str] = []
        request_id = str(uuid.uuid4())
        if self._send(
            job.dead_letter_arn, event, RequestID=request_id, ErrorCode="200", ErrorMessage=repr(error)[:1000]
        ):
            sent.append(str(job.dead_letter_arn))
        record = failure_record(f"{self.function(job.function_id).arn}:$LATEST", "RetriesExhausted", invocations, True)
        record["requestContext"]["requestId"] = request_id
        record |= {
            "requestPayload": event,
            "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
        }
        if self._send(job.on_failure_arn, record):
            sent.append(str(job.on_failure_arn))
        where = f"sent to {', '.join(sent)}" if sent else "no dead-letter queue"
        log.log(
            logging.WARNING if sent else logging.ERROR, "schedule %s failed %d times; %s", job.key, invocations, where
        )

    def fire_schedule(self, function_id: str, event_name: str) -> Any:
        """Fire one schedule now (synchronously, no retries); returns the handler's result."""
        job = self._jobs.get((function_id, event_name))
        if job is None:
            known = ", ".join(f"{f}/{e}" for f, e in self._jobs) or "none"
            raise KeyError(f"no schedule {function_id}/{event_name} (known: {known})")
        event = job.event(region=self.region, account_id=self.template.account_id, fired_at=datetime.now(UTC))
        return self.invoke(function_id, event)

    # ------------------------------------------------------------ HTTP API

    def _start_api(self) -> None:
        router = Router(routes_from_functions(self.template.functions.values()))
        self._api = ApiServer(self._api_address, router=router, endpoints=self, account_id=self.template.account_id)
        try:
            self._api.start()
        except OSError as exc:
            self._api = None
            raise LocalCloudError("cannot start the HTTP API on {}:{}: {}".format(*self._api_address, exc)) from exc

    def _stop_api(self) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None

    # ------------------------------------------------------------ mail

    def _mail_loop(self) -> None:
        known = 0
        while not self._mail_stop.wait(0.5):
            try:
                emails = self._mail.sync()
            except Exception:
                log.exception("capturing SES mail failed")
                continue
            for captured in emails[known:]:
                log.info("mail to %s: %r -> %s", ", ".join(captured.to), captured.subject, captured.path)
            known = len(emails)

    def _stop_mail(self) -> None:
        self._mail_stop.set()
        if self._mail_thread is not None:
            self._mail_thread.join(timeout=5)
            self._mail_thread = None
        if self._moto is not None:
            self._mail.sync()  # capture what is left before moto goes away

    def emails(self) -> list[CapturedEmail]:
        """Every e-mail SES accepted since start, oldest first (each written as an .eml file)."""
        return self._mail.sync()

    def emails_json(self) -> list[dict[str, Any]]:
        return [captured.as_dict() for captured in self.emails()]

    # ------------------------------------------------------------ names and state

    def _stop_moto(self) -> None:
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._moto_patches.close()
        self._clients.clear()
        self._session = None

    @property
    def api_url(self) -> str:
        if self._api is None:
            raise LocalCloudError("the local cloud is not running")
        return self._api.url

    @property
    def moto_url(self) -> str:
        if self._moto is None:
            raise LocalCloudError("the local cloud is not running")
        return self._moto.url

    @property
    def provisioned(self) -> Provisioned:
        return self._provisioned

    def table_name(self, logical_id: str) -> str:
        return self._lookup(self._provisioned.tables, logical_id, "table")

    def stream_arn(self, logical_id: str) -> str:
        return self._lookup(self._provisioned.stream_arns, logical_id, "table stream")

    def queue_url(self, logical_id: str) -> str:
        return self._lookup(self._provisioned.queue_urls, logical_id, "queue")

    def secret_arn(self, logical_id: str) -> str:
        return self._lookup(self._provisioned.secret_arns, logical_id, "secret")

    @staticmethod
    def _lookup(names: Mapping[str, str], logical_id: str, kind: str) -> str:
        try:
            return names[logical_id]
        except KeyError:
            raise KeyError(f"no {kind} {logical_id!r} (known: {', '.join(sorted(names)) or 'none'})") from None

    def health(self) -> dict[str, Any]:
        next_fire = self._scheduler.next_fire if self._scheduler else {}
        return {
            "status": "ok",
            "stack": self.template.stack_name,
            "api_url": self.api_url,
            "moto_url": self.moto_url,
            "tables": dict(self._provisioned.tables),
            "queues": dict(self._provisioned.queue_urls),
            "functions": {
                fid: {
                    "handler": runtime.spec.handler,
                    "overridden": fid in self._handler_overrides,
                    "error": None if runtime.load_error is None else str(runtime.load_error),
                }
                for fid, runtime in self._functions.items()
            },
            "streams": {consumer.name: vars(consumer.stats) for consumer in self._consumers},
            "schedules": {
                key: {"expression": job.expression_text, "next": (when := next_fire.get(key)) and when.isoformat()}
                for key, job in ((job.key, job) for job in self._jobs.values())
            },
        }
