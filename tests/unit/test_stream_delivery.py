"""``localcloud.streams.Delivery``: what Lambda does after a stream batch, without moto
(the local cloud's poller and the simulation both deliver through it)."""

from __future__ import annotations

from typing import Any

from localcloud.streams import Batch, Delivery


def _records(*sequence_numbers: int) -> list[dict[str, Any]]:
    return [{"dynamodb": {"SequenceNumber": str(n)}} for n in sequence_numbers]


def _failing(*sequence_numbers: int) -> Any:
    return lambda event: {"batchItemFailures": [{"itemIdentifier": str(n)} for n in sequence_numbers]}


def test_a_reported_failure_redelivers_it_and_every_later_record() -> None:
    delivery = Delivery(_failing(12, 13), report_batch_item_failures=True)
    batch = Batch(_records(11, 12, 13, 14))
    step, again = delivery.settle(batch, delivery.invoke(batch.records))
    assert (step, again.records, again.attempts) == ("retry", _records(12, 13, 14), 1)
    assert list(delivery.pending) == [again]


def test_a_failed_invocation_is_bisected_without_using_a_retry() -> None:
    def boom(event: Any) -> Any:
        raise RuntimeError("boom")

    delivery = Delivery(boom, bisect_on_error=True, maximum_retry_attempts=0)
    outcome = delivery.invoke(_records(1, 2, 3))
    assert isinstance(outcome.error, RuntimeError) and delivery.stats.failed_invocations == 1
    assert delivery.settle(Batch(_records(1, 2, 3)), outcome)[0] == "bisected"
    assert [(b.records, b.attempts) for b in delivery.pending] == [(_records(1), 0), (_records(2, 3), 0)]


def test_a_batch_is_given_up_on_after_its_retries() -> None:
    delivery = Delivery(_failing(5), maximum_retry_attempts=1, report_batch_item_failures=True)
    batch = Batch(_records(5, 6), attempts=1)
    step, given_up = delivery.settle(batch, delivery.invoke(batch.records))
    assert (step, given_up.attempts, delivery.stats.records_discarded) == ("discard", 2, 2)
    assert not delivery.pending


def test_an_unknown_item_identifier_fails_the_whole_batch() -> None:
    outcome = Delivery(_failing(99), report_batch_item_failures=True).invoke(_records(1, 2))
    assert (outcome.ok, outcome.failed) == (False, ())


def test_without_report_batch_item_failures_a_response_is_a_success() -> None:
    assert Delivery(_failing(1)).invoke(_records(1)).ok
