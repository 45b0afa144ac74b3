"""Allotter function: consumes the table stream.

Level-triggered: a batch is reduced to the set of SKUs whose supply or demand changed
and the set of orders whose allotment changed (and the webhook deliveries stored, each
applied first: ``services.webshop_sync``); each SKU is recomputed once and each
order's pending shipment synced once, from current state. Duplicated, reordered or
retried records are therefore harmless. A SKU or order that fails marks exactly the
records that pointed at it as failed (ReportBatchItemFailures). Suppliers whose SKUs moved
where planning looks are sent to the replan queue, after the recomputes (which keep the
SKUs' planning listings); if that send fails, the records that asked for it fail. What
the recomputes did is published as business metrics (``backorders.adapters.metrics``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.adapters.metrics import Metric, publish, recompute_counts
from backorders.bootstrap import services
from backorders.services.triggers import Triggers, triggers_of

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    records = event.get("Records", [])
    wanted = Triggers.collect(triggers_of(DynamoDBRecord(r)) for r in records)
    failed: set[tuple[str, str]] = set()
    counts: Counter[Metric] = Counter()
    for shop, key in sorted(wanted.deliveries):  # first: what they write comes back on the stream
        try:
            done = svc.webshop_sync.apply(shop, key)
            logger.info("webhook delivery applied", extra={"shop": shop, "delivery": key, "outcome": done})
        except Exception:
            logger.exception("webhook delivery failed", extra={"shop": shop, "delivery": key})
            failed.add(("delivery", f"{shop}#{key}"))
    for sku, causes in sorted(wanted.skus.items()):
        try:
            result = svc.allotter.recompute(sku, event=causes)
            counts.update(recompute_counts(result))
            if result.plan.changes:
                logger.info(
                    "allotment changed",
                    extra={"sku": sku, "changes": len(result.plan.changes), "read": result.plan.lines_read},
                )
        except Exception:
            logger.exception("recompute failed", extra={"sku": sku})
            failed.add(("sku", sku))
    for shop, order_id in sorted(wanted.orders):
        try:
            svc.shipments.sync_pending(shop, order_id)
        except Exception:
            logger.exception("pending shipment sync failed", extra={"order_id": order_id})
            failed.add(("order", f"{shop}#{order_id}"))
    replan_failed = False
    if wanted.suppliers and svc.replan is not None:
        try:
            svc.replan.request(wanted.suppliers)
        except Exception:
            logger.exception("replan request failed", extra={"suppliers": len(wanted.suppliers)})
            replan_failed = True
    publish(counts)

    def record_handler(record: DynamoDBRecord) -> None:
        triggers = triggers_of(record)
        if (failed and triggers.keys() & failed) or (replan_failed and triggers.suppliers):
            raise RuntimeError("this record's SKU or order could not be processed; it will be retried")

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
