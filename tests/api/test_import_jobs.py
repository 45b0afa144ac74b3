"""A large CSV import is checked in its request and written by a background job: the API
answers 202 with the job, the planner function writes it from the queue chunk by chunk,
each chunk once (a redelivered message writes nothing more), and its progress reads back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import planner_handler
from backorders.services import catalogue
from localcloud.queues import to_lambda_message
from tests.api.conftest import REGION, clear_caches, lambda_context
from tests.api.test_catalogue_csv import send_file


@pytest.fixture
def queued(api: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    """The API with a plan queue, and imports of more than 2 changed records handed over."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=f"plan-{api.table}")["QueueUrl"]
    monkeypatch.setenv("PLAN_QUEUE_URL", url)
    monkeypatch.setattr(catalogue, "SYNC_RECORDS", 2)
    monkeypatch.setattr(catalogue, "JOB_CHUNK", 2)
    clear_caches()
    yield api, sqs, url
    sqs.delete_queue(QueueUrl=url)
    clear_caches()


def deliver(sqs: Any, url: str) -> dict[str, Any]:
    """What the queue holds, as one SQS event to the planner function (the messages stay)."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    event = {"Records": [to_lambda_message(m, "arn:aws:sqs:us-east-1:123456789012:plan", REGION) for m in messages]}
    return dict(planner_handler.lambda_handler(event, lambda_context("PlannerFunction")))


def test_a_large_import_is_accepted_written_by_the_job_once_and_reports_its_progress(queued):
    api, sqs, url = queued
    rows = "\n".join(f"BOOK-{n},Book {n},,3.50" for n in range(5))
    reply = send_file(api, "products", "sku,name,supplier_id,purchase_price\n" + rows + "\n")
    assert (reply.status, reply.body["status"], reply.body["created"]) == (202, "accepted", 5), reply.body
    job = reply.body["job"]
    assert reply.headers["location"] == f"/v1/imports/{job}"
    assert api("GET", f"/v1/imports/{job}").body | {"created_at": None} == {
        "id": job, "kind": "products", "status": "running", "created_at": None,
        "records": 5, "written": 0, "chunks": 3, "chunks_written": 0,
    }  # fmt: skip
    assert api("GET", "/v1/products/BOOK-0").status == 404  # nothing is written in the request

    assert deliver(sqs, url) == {"batchItemFailures": []}
    progress = api("GET", f"/v1/imports/{job}").body
    assert (progress["status"], progress["written"], progress["chunks_written"]) == ("done", 5, 3)
    assert api("GET", "/v1/products/BOOK-4").body["purchase_price"] == "3.50"

    stored = api.items()
    assert catalogue.CatalogueService.run_import(api.svc.catalogue, job) == 0  # a redelivery writes nothing
    assert api.items() == stored


def test_a_small_import_is_written_in_its_request(queued):
    api, _, _ = queued
    reply = send_file(api, "products", "sku,name\nBOOK-1,Book\nBOOK-2,Book\n")
    assert (reply.status, reply.body["status"], "job" not in reply.body) == (200, "imported", True)


def test_an_unknown_import_job_is_not_found(api):
    assert api("GET", "/v1/imports/IMP-NOPE").status == 404
