"""Notifier function: turns pending notification intents into email (``services.notifier``).

- ``{"job": "send"}`` (every minute): serve every audience with a due intent;
- ``{"job": "digest"}`` (daily): write the buyer's digest of the day (once, however often
  the schedule delivers it), then send;
- an EventBridge event from SES (``source: aws.ses``, a bounce or a complaint through the
  configuration set): the addresses it names get nothing more.

The notifier is fed by its schedule from the outbox index, not by the table stream, which
keeps its one consumer (decision 72). Logs carry counts, never an address or a name.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.bootstrap import services

logger = Logger()
JOBS = ("send", "digest")


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    if event.get("source") == "aws.ses":
        suppressed = svc.notifier.record_event(event)
        logger.info("SES event recorded", extra={"type": event.get("detail-type"), "suppressed": suppressed})
        return {"suppressed": suppressed}
    job = event.get("job")
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; expected one of {JOBS}")
    written = svc.notifier.write_digest() if job == "digest" else None
    report = svc.notifier.run().as_dict()
    logger.info("notifications done", extra={"job": job, "digest_written": written, **report})
    return {"job": job, "digest_written": written, **report}
