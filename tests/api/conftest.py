"""API fixtures: the real API handler, called in-process with API Gateway HTTP API
(payload 2.0) events, against moto in-process with the table from template.yaml.

One moto mock, one secret (two shops' API keys) and one table name per module; the
table is created afresh for each test, so a test can assert that a bad request wrote
nothing at all.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

import allotter_handler
import api_handler
import auth
from backorders.adapters.api_keys import add_key
from backorders.adapters.dynamodb.models import SkuItem
from backorders.bootstrap import Services, services
from backorders.config import settings
from localcloud.filters import compile_filters, matches_any
from localcloud.runtime import LambdaContext
from localcloud.streams import to_lambda_record
from localcloud.template import load_yaml
from tests.integration.conftest import ROOT, create_table, table_spec  # noqa: F401 - table_spec is a fixture
from tests.support.events import http_event

REGION = "us-east-1"
SHOP = "aacme"
OTHER_SHOP = "bbooks"
_accounts = itertools.count()

_NO_KEY = object()
STREAM_FILTERS = compile_filters(
    load_yaml((ROOT / "template.yaml").read_text())["Resources"]["AllotterFunction"]["Properties"]["Events"][
        "TableStream"
    ]["Properties"]["FilterCriteria"]
)


def lambda_context(function: str) -> LambdaContext:
    return LambdaContext(
        function_name=f"backorders-test-{function}",
        memory_limit_in_mb=512,
        timeout=30,
        region=REGION,
        account_id="123456789012",
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """What API Gateway would send back: status, headers (lower-cased names), body."""

    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or the text of any other content type
    raw: dict[str, Any]

    @property
    def error(self) -> tuple[str, str | None]:
        return self.body["error"], self.body["field"]


@dataclass(frozen=True, slots=True)
class AwsAccount:
    """One moto account per test module: the table (as template.yaml declares it)
    and the API keys secret with a key for each of two shops."""

    dynamodb: Any
    table: str
    secret_arn: str
    keys: dict[str, str]
    table_spec: Any

    def fresh_table(self) -> None:
        """The table again, empty (same name, so cached services stay valid; a new table
        rather than deleted items, so its stream starts empty too)."""
        self.dynamodb.delete_table(TableName=self.table)
        create_table(self.dynamodb, self.table_spec, self.table)


@dataclass(slots=True)
class Api:
    """The API function in this process, and a look at its table."""

    account: AwsAccount
    context: LambdaContext = field(default_factory=lambda: lambda_context("ApiFunction"))
    stream_position: str | None = None  # the last stream record deliver_stream handed on

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        shop: str = SHOP,
        api_key: Any = _NO_KEY,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request as ``shop`` (its API key), or with ``api_key`` (None: no key)."""
        key = self.account.keys[shop] if api_key is _NO_KEY else api_key
        event = http_event(method, path, body, headers=headers, query=query, api_key=key)
        raw = api_handler.lambda_handler(event, self.context)
        return _reply(raw)

    @property
    def svc(self) -> Services:
        return services()

    def settle(self, *skus: str, event: str = "test") -> None:
        """What the stream-driven allotter does after a write: recompute each SKU."""
        for sku in skus:
            self.svc.allotter.recompute(sku, event=event)

    def run_allotter(self, *records: dict[str, Any]) -> dict[str, Any]:
        """Invoke the real allotter function with one batch of stream records."""
        return allotter_handler.lambda_handler({"Records": list(records)}, lambda_context("AllotterFunction"))

    def deliver_stream(self, rounds: int = 10) -> None:
        """Deliver the table's stream to the real allotter function, filtered and in
        batches as the template's event source mapping does, until it runs dry (the
        allotter's own writes come back on the stream too)."""
        # botocore addresses streams as <account>.streams-ddb.<region>, which moto does not route
        streams = boto3.client(
            "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )
        arn = self.account.dynamodb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        for _ in range(rounds):
            position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
            if self.stream_position is not None:
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.stream_position}
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
            records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            if not records:
                return
            self.stream_position = records[-1]["dynamodb"]["SequenceNumber"]
            batch = [to_lambda_record(r, arn, REGION) for r in records]
            batch = [r for r in batch if matches_any(STREAM_FILTERS, r)]
            for first in range(0, len(batch), 100):
                reply = self.run_allotter(*batch[first : first + 100])
                assert reply == {"batchItemFailures": []}, reply
        raise AssertionError(f"the stream did not run dry in {rounds} rounds")

    @property
    def table(self) -> str:
        return self.account.table

    def items(self) -> list[dict[str, Any]]:
        """Every item in the table (strongly consistent), sorted by key."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.account.dynamodb.scan(**kwargs)
            found.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def item(self, pk: str, sk: str) -> dict[str, Any]:
        return self.account.dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )["Item"]


def _reply(raw: dict[str, Any]) -> Reply:
    headers = {str(k).lower(): str(v) for k, v in (raw.get("headers") or {}).items()}
    body = raw.get("body")
    if isinstance(body, str) and headers.get("content-type", "").startswith("application/json"):
        body = json.loads(body)
    return Reply(int(raw["statusCode"]), headers, body, raw)


def clear_caches() -> None:
    """Forget process-wide state: services and settings (lru_cached) and the API key ring."""
    services.cache_clear()
    settings.cache_clear()
    auth.forget_keys()


def _bound_to(table: str) -> bool:
    """Whether the cached services talk to ``table`` (another test's ``build`` may have
    pointed the table models elsewhere since)."""
    return (
        services.cache_info().currsize == 1
        and services().store.table_name == table
        and SkuItem.Meta.table_name == table
        and getattr(SkuItem.Meta, "host", None) is None
    )


@pytest.fixture(scope="module")
def account(table_spec: Any) -> Iterator[AwsAccount]:  # noqa: F811
    n = next(_accounts)  # unique names: another module's moto mock may still be active
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name=f"backorders-api-keys-{n}", SecretString="{}")["ARN"]
        keys = {shop: add_key(secrets, arn, shop) for shop in (SHOP, OTHER_SHOP)}
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        table = create_table(dynamodb, table_spec, f"backorders-api-{n}")
        clear_caches()
        yield AwsAccount(dynamodb, table, arn, keys, table_spec)
        clear_caches()  # nothing after this module may reach its table through the caches


@pytest.fixture
def api(account: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Api:
    """The API function, with an empty table for each test."""
    monkeypatch.setenv("TABLE_NAME", account.table)
    monkeypatch.setenv("API_KEYS_SECRET_ARN", account.secret_arn)
    monkeypatch.setenv("INTEGRATION_SECRETS_PREFIX", f"{account.table}/integrations/")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(variable, raising=False)
    if not _bound_to(account.table):
        clear_caches()
    account.fresh_table()
    return Api(account)
