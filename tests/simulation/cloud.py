"""One simulated deployment, in-process and deterministic.

moto (``mock_aws``) holds the table exactly as template.yaml declares it (stream on),
the API keys secret, the shops' integration secrets (under ``INTEGRATION_SECRETS_PREFIX``,
as the template's Globals set it) and SES. The real Lambda handlers run against it:
``api_handler``, ``allotter_handler``, ``planner_handler``, ``webhooks_handler`` (API
Gateway's ``POST /webhooks/shopify/{shop}`` route) and ``catchup_handler``, each through
the composition root they use in AWS (``backorders.bootstrap.services()``).

Everything that could make two runs of one seed differ is pinned here, in the
harness and never in production code:

* the clock: ``build``'s default ``clock`` is swapped for :class:`FakeClock` before
  the ``services()`` cache is filled (the handlers then use it everywhere);
* sleeping: the retry back-off sleeps on the fake clock, with seeded jitter;
* the webhook receiver's secret cache ages on the fake clock, not ``time.monotonic``;
* the record log's random key suffix (``uuid4`` in the store) and purchase order ids
  (``uuid4`` in the purchasing service) come from seeded generators;
* nothing iterates a set or reads the wall clock to decide anything.

Lambda details the handlers cannot see are not emulated (cold starts reset nothing
but the API key cache, which a new deployment would start empty).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.moto_patches import patched_moto
from tests.integration.conftest import create_table, declared_table
from tests.simulation.faults import FaultPlan, SimulatedCrash, StorageFaults
from tests.support.events import http_event

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
SHOP = "sim"  # fills automatically
MANUAL_SHOP = "hand"  # fills backorders by hand (Stone Edge "Fill Backorders")
SHOPIFY_SHOP = "shfy"  # sells on Shopify: its orders come as webhooks and through the catch-up
SHOPS = (SHOP, MANUAL_SHOP, SHOPIFY_SHOP)
DAY_START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ENV = ("TABLE_NAME", "API_KEYS_SECRET_ARN", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL",
       "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "IDEMPOTENCY_TABLE_NAME",
       "POWERTOOLS_SERVICE_NAME", "INTEGRATION_SECRETS_PREFIX")  # fmt: skip


def template() -> dict[str, Any]:
    from localcloud.template import load_yaml

    return dict(load_yaml((ROOT / "template.yaml").read_text())["Resources"])


class FakeClock:
    """The service's clock: UTC text with microseconds. Each reading moves it on by one
    millisecond (so stamps never tie), the simulation moves it by minutes."""

    def __init__(self, start: datetime = DAY_START) -> None:
        self.now = start

    def __call__(self) -> str:
        self.now += timedelta(milliseconds=1)
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def iso_minute(self) -> str:
        """An entry time as a webshop sends it (minute precision, so entry times tie)."""
        return self.now.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class Context:
    """What the Lambda runtime hands a handler (deterministic request ids)."""

    _ids = itertools.count(1)

    def __init__(self, function: str) -> None:
        self.function_name = f"backorders-{function}"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:{self.function_name}"
        self.aws_request_id = f"sim-{next(self._ids)}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Response:
    def __init__(self, status: int, body: Any, *, crashed: bool = False, committed: bool = False) -> None:
        self.status = status
        self.body = body
        self.crashed = crashed
        self.committed = committed  # the invocation wrote something (before a crash or not)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def __repr__(self) -> str:
        return f"{self.status}{' (crashed)' if self.crashed else ''}"


class Cloud:
    """``with Cloud(seed, plan) as cloud:`` one deployment for one run."""

    def __init__(self, seed: int, plan: FaultPlan, *, chunk: int | None = None) -> None:
        self.seed = seed
        self.plan = plan
        self.chunk = chunk
        self.clock = FakeClock()
        self.faults = StorageFaults(plan, random.Random(f"{seed}:storage"))
        self.table = self.faults.domain_table = f"sim-{seed}"
        self.api_keys: dict[str, str] = {}
        self.secrets_prefix = f"sim-{seed}/integrations/"  # template.yaml: ${AWS::StackName}/integrations/
        self.function_errors: list[str] = []  # a webhook invocation that failed with no fault to explain it
        self._requests = 0
        self._stack = contextlib.ExitStack()

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Cloud:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        import allotter_handler
        import api_handler
        import auth
        import catchup_handler
        import planner_handler
        import webhooks_handler
        from backorders import bootstrap, config
        from backorders.adapters.dynamodb import store
        from backorders.services import allotment, commit, purchasing

        stack = self._stack
        saved_env = {name: os.environ.get(name) for name in ENV}
        stack.callback(_restore_env, saved_env)
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "IDEMPOTENCY_TABLE_NAME"):
            os.environ.pop(name, None)
        os.environ.update(AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

        stack.enter_context(mock_aws())
        stack.enter_context(patched_moto())
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, declared_table(), self.table)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name=f"sim-{self.seed}-api-keys", SecretString=json.dumps({"keys": []}))["ARN"]
        # Inside an outer mock_aws (a session-wide one) moto keeps its state when this one
        # ends: remove what this run created, so the next run with the same seed starts clean.
        stack.callback(dynamodb.delete_table, TableName=self.table)
        stack.callback(secrets.delete_secret, SecretId=arn, ForceDeleteWithoutRecovery=True)
        stack.callback(self._delete_integration_secrets, secrets)
        from backorders.adapters.api_keys import add_key

        self.api_keys = {shop: add_key(secrets, arn, shop) for shop in SHOPS}
        os.environ.update(
            TABLE_NAME=self.table, API_KEYS_SECRET_ARN=arn, INTEGRATION_SECRETS_PREFIX=self.secrets_prefix
        )
        self.dynamodb = dynamodb
        self.stream_arn = dynamodb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]

        # the fake clock and sleep, through the composition root's defaults
        def patch(obj: Any, name: str, value: Any) -> None:
            old = getattr(obj, name)
            setattr(obj, name, value)
            stack.callback(setattr, obj, name, old)

        patch(bootstrap.build, "__kwdefaults__", {**(bootstrap.build.__kwdefaults__ or {}), "clock": self.clock})
        patch(commit.retrying, "__defaults__", (self.sleep,))
        kw = dict(allotment.Allotter.__init__.__kwdefaults__ or {})
        patch(allotment.Allotter.__init__, "__kwdefaults__", {**kw, "sleep": self.sleep})
        patch(commit, "random", random.Random(f"{self.seed}:jitter"))
        keys = random.Random(f"{self.seed}:uuid")
        patch(store, "uuid", SimpleNamespace(uuid4=lambda: uuid.UUID(int=keys.getrandbits(128), version=4)))
        po_ids = random.Random(f"{self.seed}:po-ids")
        patch(purchasing, "uuid", SimpleNamespace(uuid4=lambda: uuid.UUID(int=po_ids.getrandbits(128), version=4)))
        if self.chunk is not None:
            patch(commit, "CHANGES_PER_TRANSACTION", self.chunk)
        patch(auth, "_keyring", None)
        for cached in (bootstrap.services, config.settings):
            cached.cache_clear()  # filled again from this run's environment and clock
            stack.callback(cached.cache_clear)

        # quiet logs: a run logs every injected failure with its traceback (SIM_LOGS=1 keeps them)
        if not os.environ.get("SIM_LOGS"):
            handlers = (api_handler, allotter_handler, planner_handler, webhooks_handler, catchup_handler)
            services = {h.logger.service for h in handlers} | {"backorders"}  # and the catch-up's std logger
            for name in sorted(logging.root.manager.loggerDict):
                if name.split(".")[0] in services:
                    std = logging.getLogger(name)
                    stack.callback(std.setLevel, std.level)
                    std.setLevel(logging.CRITICAL)

        stack.enter_context(self.faults.installed())
        svc = bootstrap.services()
        assert svc.clock is self.clock, "handlers must run on the fake clock"
        kept = svc.webhooks.integrations
        if hasattr(kept, "clock"):  # CachedIntegrations: its age in seconds of the fake clock
            patch(kept, "clock", lambda: (self.clock.now - DAY_START).total_seconds())
        self.svc = svc
        self._api = api_handler.lambda_handler
        self._allotter = allotter_handler.lambda_handler
        self._planner = planner_handler.lambda_handler
        self._webhooks = webhooks_handler.lambda_handler
        self._catch_up = catchup_handler.lambda_handler

    def _delete_integration_secrets(self, secrets: Any) -> None:
        listed = secrets.list_secrets(Filters=[{"Key": "name", "Values": [self.secrets_prefix]}])["SecretList"]
        for secret in listed:
            if secret["Name"].startswith(self.secrets_prefix):
                secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # ------------------------------------------------------------ invocations
    def api(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, *, shop: str = SHOP
    ) -> Response:
        """One HTTP request through API Gateway to the API function. A crashed
        invocation answers 502, as API Gateway does when the function fails."""
        self._requests += 1
        # the local cloud's own event builder, with the request id and time of the run
        # (the helper's defaults are a uuid4 and the wall clock)
        event = http_event(
            method,
            path,
            body,
            headers={"user-agent": "sim", **(headers or {})},
            api_key=self.api_keys[shop],
            request_id=f"req-{self._requests}",
            now=self.clock.now,
        )
        with self.faults.acting("api"):
            try:
                raw = self._api(event, Context("api"))
            except SimulatedCrash:
                return Response(502, None, crashed=True, committed=self.faults.commits > 0)
            committed = self.faults.commits > 0
        text = raw.get("body") or ""
        if not isinstance(text, str):  # a Response(body=dict) without content type (see the report)
            text = json.dumps(text)
        try:
            payload = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = text
        return Response(int(raw["statusCode"]), payload, committed=committed)

    def webhook(self, platform: str, shop: str, body: bytes, headers: dict[str, str]) -> Response:
        """One webhook delivery through API Gateway's ``POST /webhooks/<platform>/{shop}``
        route to the webhook function (public: no API key). A crashed invocation answers
        502; a function error too (API Gateway's answer), and it is recorded in
        ``function_errors``: no injected fault explains one."""
        self._requests += 1
        event = http_event(
            "POST",
            f"/webhooks/{platform}/{shop}",
            body,
            headers=headers,
            request_id=f"req-{self._requests}",
            now=self.clock.now,
            route_key=f"POST /webhooks/{platform}/{{shop}}",
            path_parameters={"shop": shop},
        )
        with self.faults.acting("webhooks"):
            try:
                raw = self._webhooks(event, Context("webhooks"))
            except SimulatedCrash:
                return Response(502, None, crashed=True, committed=self.faults.commits > 0)
            except Exception as exc:
                self.function_errors.append(f"webhook function failed: {type(exc).__name__}: {exc}")
                return Response(502, None, committed=self.faults.commits > 0)
            committed = self.faults.commits > 0
        text = raw.get("body") or ""
        try:
            payload = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = text
        return Response(int(raw["statusCode"]), payload, committed=committed)

    def catch_up(self) -> Any:
        """One scheduled catch-up run; its report. Raises when the invocation fails."""
        with self.faults.acting("catchup"):
            return self._catch_up({}, Context("catchup"))

    def allotter(self, event: dict[str, Any]) -> Any:
        """One stream batch. Raises when the invocation fails (crash or error)."""
        with self.faults.acting("allotter"):
            return self._allotter(event, Context("allotter"))

    def planner(self, job: str = "frequent") -> Any:
        with self.faults.acting("planner"):
            return self._planner({"job": job}, Context("planner"))

    # ------------------------------------------------------------ harness reads
    def backend_items(self, skip: str = "LOG#") -> Iterator[dict[str, Any]]:
        """Every item of the table but the record log, as DynamoDB JSON, read from
        moto's store directly: no faults, and no botocore round trip, because this runs
        after every step (a scan through boto3 would cost more than the step)."""
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(self.table)
        for partition in list(table.items.values()):
            for item in list(partition.values()):
                if not str(item.range_key.value).startswith(skip):
                    yield item.to_json()["Attributes"]

    def backend_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        """One item as DynamoDB JSON, straight from moto's store (see ``partition_items``)."""
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        found = backend.get_item(self.table, {"pk": {"S": pk}, "sk": {"S": sk}})
        return found.to_json()["Attributes"] if found is not None else None

    def partition_items(self, prefix: str) -> Iterator[dict[str, Any]]:
        """The items of the partitions whose key starts with ``prefix`` (``"PO#"``), as
        DynamoDB JSON, straight from moto's store (the storage-boundary checks run this
        inside a Lambda's call, so it must neither fault nor recurse)."""
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(self.table)
        for key, partition in list(table.items.items()):
            if str(key.value).startswith(prefix):
                for item in list(partition.values()):
                    yield item.to_json()["Attributes"]

    def sent_emails(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
