"""Integration fixtures: the real services and adapters against moto (in-process),
with the table built from template.yaml."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from backorders.bootstrap import Services, build
from backorders.config import Settings
from localcloud import LocalCloud
from localcloud.provision import create_table
from localcloud.template import Template
from tests.support.world import World

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count()


@pytest.fixture(scope="session")
def aws() -> Iterator[None]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def dynamodb(aws: None):  # type: ignore[no-untyped-def]
    return boto3.client("dynamodb", region_name="us-east-1")


@functools.cache
def declared_table() -> dict[str, Any]:
    """The table's properties as template.yaml declares them (keys, indexes, stream, TTL)."""
    return Template.load(ROOT / "template.yaml").tables["Table"]


def unused(event: Any, context: Any) -> Any:
    raise AssertionError("not invoked in these tests")


@contextlib.contextmanager
def local_cloud(
    tmp_path_factory: pytest.TempPathFactory, handlers: Mapping[str, Callable[[Any, Any], Any]], **options: Any
) -> Iterator[LocalCloud]:
    """template.yaml's LocalCloud with test timings and every function replaced: by ``handlers``,
    or else by one that fails the test when invoked (module-scoped fixtures use it)."""
    functions = ("ApiFunction", "AllotterFunction", "PlannerFunction")
    overrides = {function_id: handlers.get(function_id, unused) for function_id in functions}
    state_dir = tmp_path_factory.mktemp("localcloud")
    with LocalCloud(
        ROOT / "template.yaml", state_dir=state_dir, fast=True, handler_overrides=overrides, **options
    ) as cloud:
        yield cloud


@pytest.fixture(scope="session")
def table_spec() -> dict[str, Any]:
    return declared_table()


@pytest.fixture
def table(dynamodb, table_spec) -> str:  # type: ignore[no-untyped-def]
    return create_table(dynamodb, table_spec, f"backorders-test-{next(_names)}")


@pytest.fixture
def svc(table: str) -> Services:
    return build(Settings(table_name=table, region="us-east-1"))


@pytest.fixture
def shop(svc: Services) -> World:
    """A shop on the real services whose catalogue has a TEXTBOOK and a PEN."""
    world = World(svc)
    world.product("TEXTBOOK")
    world.product("PEN")
    return world
