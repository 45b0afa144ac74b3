"""Typed configuration, read from the environment once, lazily, and passed in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    region: str
    api_keys_secret_arn: str = ""
    sender_email: str = ""
    demand_window_days: float = 28.0  # the time constant of the SKUs' demand rates (domain.demand)
    plan_queue_url: str = ""  # "replan supplier X" requests; empty: planning waits for the schedules
    integration_secrets_prefix: str = ""  # the stack's name prefix of the shops' integration secrets
    endpoint_url: str | None = None  # set locally (moto); None on AWS
    buyer_email: str = ""  # the buyers' address when a supplier names none
    ses_configuration_set: str = ""  # bounces and complaints come back through it
    public_url: str = ""  # the base of the links in emails (the HTTP API's URL)
    choice_key_secret_arn: str = ""  # the key that signs customers' choice links
    buyer_locale: str = "en"
    buyer_time_zone: str = "UTC"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        missing = [name for name in ("TABLE_NAME",) if not e.get(name)]
        if missing:
            raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            table_name=e["TABLE_NAME"],
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            api_keys_secret_arn=e.get("API_KEYS_SECRET_ARN", ""),
            sender_email=e.get("SENDER_EMAIL", ""),
            plan_queue_url=e.get("PLAN_QUEUE_URL", ""),
            integration_secrets_prefix=e.get("INTEGRATION_SECRETS_PREFIX", ""),
            demand_window_days=float(e.get("DEMAND_WINDOW_DAYS") or 28),
            endpoint_url=e.get("AWS_ENDPOINT_URL_DYNAMODB") or e.get("AWS_ENDPOINT_URL") or None,
            buyer_email=e.get("BUYER_EMAIL", ""),
            ses_configuration_set=e.get("SES_CONFIGURATION_SET", ""),
            public_url=e.get("PUBLIC_URL", ""),
            choice_key_secret_arn=e.get("CHOICE_KEY_SECRET_ARN", ""),
            buyer_locale=e.get("BUYER_LOCALE") or "en",
            buyer_time_zone=e.get("BUYER_TIME_ZONE") or "UTC",
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (read at first use, not at import)."""
    return Settings.from_env()
