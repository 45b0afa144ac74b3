"""Reading the business metrics a function published: powertools writes each flush as one
CloudWatch embedded metric format (EMF) line on standard output."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


def blobs(stdout: str) -> list[dict[str, Any]]:
    """The EMF lines of captured standard output, parsed."""
    out = []
    for text in stdout.splitlines():
        if text.startswith("{") and '"_aws"' in text:
            blob = json.loads(text)
            if "CloudWatchMetrics" in blob.get("_aws", {}):
                out.append(blob)
    return out


def totals(stdout: str) -> Counter[str]:
    """Each metric's sum over every EMF line (a line holds a value or a list of them)."""
    sums: Counter[str] = Counter()
    for blob in blobs(stdout):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                sums[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return sums
