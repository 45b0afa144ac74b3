"""Sending email through SES (v2 API), and what SES's answer means for a retry.

SES has no idempotency key, so an answer is sorted by what it says about the message:

- ``Retry``: SES did not take the message (throttled, a quota, a server error, no
  connection made): sending it again cannot double it.
- ``Rejected``: SES refused it for good (a rejected message, an unverified sender, a
  paused or suspended account, a missing configuration set).
- ``Unknown``: the request may have reached SES and no answer came (a read timeout, a
  connection closed midway): it may have been sent, so it is never sent again.

botocore's own retries are off for this client: a retry it made after a read timeout
could send a message twice.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
)

from backorders.domain.email import Email, Rejected, Retry, Unknown

RETRY_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
}
REJECTED_CODES = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "NotFoundException",
    "BadRequestException",
}


class SesSender:
    """SES v2 ``SendEmail`` with raw content (our own headers: List-Unsubscribe)."""

    def __init__(self, *, region: str, configuration_set: str | None = None) -> None:
        self.region = region
        self.configuration_set = configuration_set
        self._client: Any = None  # made at the first send: only the notifier sends

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # at the first send: only the notifier sends (0.05 s to import)

            config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=10)
            self._client = boto3.client("sesv2", region_name=self.region, config=config)
        return self._client

    def send(self, email: Email) -> str:
        """Send ``email``; SES's message id. Raises ``Retry``, ``Rejected`` or ``Unknown``."""
        request: dict[str, Any] = {
            "FromEmailAddress": email.sender,
            "Destination": {"ToAddresses": list(email.to)},
            "Content": {"Raw": {"Data": email.mime()}},
        }
        if email.reply_to:
            request["ReplyToAddresses"] = list(email.reply_to)
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if email.message_id:
            request["EmailTags"] = [{"Name": "notification", "Value": email.message_id}]
        try:
            answer = self.client.send_email(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in RETRY_CODES or (status >= 500 and code not in REJECTED_CODES):
                raise Retry(code or f"HTTP {status}") from exc
            raise Rejected(code or f"HTTP {status}") from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:  # the request never left
            raise Retry(type(exc).__name__) from exc
        except ParamValidationError as exc:  # refused before sending
            raise Rejected(str(exc)[:200]) from exc
        except Exception as exc:  # read timeouts, closed connections: SES may have it
            raise Unknown(type(exc).__name__) from exc
        return str(answer.get("MessageId") or "")
