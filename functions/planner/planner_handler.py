"""Planner function: runs on the template's EventBridge schedules.

``{"job": "frequent"}`` and ``{"job": "daily"}``: the allotment sweep. It recomputes
every SKU that has backordered lines, from current state, as a safety net behind the
stream (index lag, records that ended in the failure queue); the daily run also takes
SKUs without backorders out of the backlog index. A run changes nothing when everything
has already converged, so a schedule delivered twice is harmless. The SKUs a run had to
change are published as a business metric (``backorders.adapters.metrics``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.adapters.metrics import publish, sweep_counts
from backorders.bootstrap import services

logger = Logger()
JOBS = ("frequent", "daily")


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job = event.get("job")
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; expected one of {JOBS}")
    report = services().sweep.run(event=f"scheduled {job} sweep", clear_stale=job == "daily")
    logger.info("sweep done", extra=report)
    publish(sweep_counts(report["changed"]))
    return {"job": job, **report}
