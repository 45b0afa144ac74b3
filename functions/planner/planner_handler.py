"""Planner function: runs on the template's EventBridge schedules.

``{"job": "frequent"}`` and ``{"job": "daily"}``: first the allotment sweep, which
recomputes every SKU that has backordered lines, from current state, as a safety net
behind the stream (index lag, records that ended in the failure queue; the daily run
also takes SKUs without backorders out of the backlog index); then the purchase planner
(``services.purchasing.Planner``: backorder POs, and the regular order of each supplier
whose review date has come). Both change nothing when everything has already converged,
so a schedule delivered twice, or two runs at once, are harmless. What a run changed is
published as business metrics (``backorders.adapters.metrics``).

An SQS event from the planner's queue writes the import jobs it names (large CSV imports
the API handed over, chunk by chunk, each chunk once) and plans the suppliers it names
(the allotter's "replan supplier X" requests), once each per batch; what fails is
reported as failed and SQS delivers it again (after five receives, to PlannerFailureQueue).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.adapters.metrics import plan_counts, publish, sweep_counts
from backorders.adapters.replan_queue import imports_of, suppliers_of
from backorders.bootstrap import services

logger = Logger()
JOBS = ("frequent", "daily")


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return replan(event)
    job = event.get("job")
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; expected one of {JOBS}")
    svc = services()
    report = svc.sweep.run(event=f"scheduled {job} sweep", clear_stale=job == "daily")
    logger.info("sweep done", extra=report)
    publish(sweep_counts(report["changed"]))
    planned = svc.planner.run().as_dict()
    logger.info("planning done", extra=planned)
    publish(plan_counts(planned))
    return {"job": job, **report, "planning": planned}


def replan(event: dict[str, Any]) -> dict[str, Any]:
    """Import jobs first (their products may change what to order), then the suppliers."""
    svc, failed = services(), []
    for message_id, job_id in imports_of(event).items():
        try:
            logger.info("import written", extra={"job": job_id, "chunks": svc.catalogue.run_import(job_id)})
        except Exception:
            logger.exception("import failed", extra={"job": job_id})
            failed.append({"itemIdentifier": message_id})
    requested = suppliers_of(event)
    if not requested:
        return {"batchItemFailures": failed}
    try:
        planned = svc.planner.run(suppliers=set(requested.values())).as_dict()
    except Exception:
        logger.exception("replanning failed", extra={"suppliers": len(set(requested.values()))})
        return {"batchItemFailures": failed + [{"itemIdentifier": message_id} for message_id in requested]}
    logger.info("replanning done", extra=planned)
    publish(plan_counts(planned))
    return {"batchItemFailures": failed}
