"""Catch-up function: on its schedule (template.yaml), reads each configured shop's orders
changed since the last run from its platform and stores them as deliveries, which the
stream applies as it applies webhooks (``services.catch_up``, decision 70). A shop that
fails is reported and tried again next run; the run itself fails only on a bug of ours."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.bootstrap import services

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = services().catch_up.run().as_dict()
    logger.info("catch-up done", extra=report)
    return report
