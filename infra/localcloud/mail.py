"""SES capture: every e-mail moto's SES accepted, written as an ``.eml`` file.

moto keeps sent mail in ``ses_backends[account][region].sent_messages`` (SES v1
and v2 share it). The moto server runs in this process, so the capture reads that
list directly (under the moto lock) and writes each new message once, as a
readable RFC 822 file under ``<state_dir>/mail/``. Raw messages are written
exactly as sent.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any

__all__ = ["CapturedEmail", "MailCapture"]

_HTML = re.compile(r"<\s*(html|body|p|div|br|table|a|span|h[1-6]|ul|ol|li|strong|em)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CapturedEmail:
    id: str
    sender: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    path: Path
    captured_at: str
    kind: str = "simple"  # simple | raw | template
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "bcc": self.bcc,
            "subject": self.subject,
            "path": str(self.path),
            "captured_at": self.captured_at,
            "kind": self.kind,
        }

    def message(self) -> EmailMessage:
        """The captured file, parsed."""
        with self.path.open("rb") as handle:
            parsed = email.message_from_binary_file(handle, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def body(self) -> str:
        """The text (or else HTML) body of the captured message."""
        part = self.message().get_body(preferencelist=("plain", "html"))
        return "" if part is None else str(part.get_content())


def _backends() -> Iterator[Any]:
    from moto.ses.models import ses_backends

    for account_backends in list(ses_backends.values()):
        yield from list(account_backends.values())


def _addresses(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


class MailCapture:
    """Writes moto's sent messages to ``directory`` and remembers what it wrote."""

    def __init__(self, directory: Path, lock: threading.RLock) -> None:
        self.directory = directory
        self._moto_lock = lock
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._emails: list[CapturedEmail] = []

    def clear(self) -> None:
        """Start empty: moto starts empty too."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("*.eml"):
            old.unlink()
        with self._lock:
            self._seen.clear()
            self._emails.clear()

    def sync(self) -> list[CapturedEmail]:
        """Capture every message sent since the last call; returns all captured so far."""
        with self._moto_lock:
            pending = [message for backend in _backends() for message in list(backend.sent_messages)]
        with self._lock:
            for message in pending:
                key = str(getattr(message, "id", None) or id(message))
                if key in self._seen:
                    continue
                self._seen.add(key)
                self._emails.extend(self._write(message))
            return list(self._emails)

    # ------------------------------------------------------------ writing

    def _write(self, message: Any) -> list[CapturedEmail]:
        now = datetime.now(UTC)
        if hasattr(message, "raw_data"):
            return [self._write_raw(message, now)]
        if hasattr(message, "body") and hasattr(message, "subject"):
            return [self._write_simple(message, now)]
        if hasattr(message, "template"):
            return [self._write_template(message, now)]
        return []

    def _path(self, message_id: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", message_id)
        return self.directory / f"{len(self._emails) + 1:04d}-{safe}.eml"

    def _write_simple(self, message: Any, now: datetime) -> CapturedEmail:
        destinations = message.destinations or {}
        to = _addresses(destinations.get("ToAddresses"))
        cc = _addresses(destinations.get("CcAddresses"))
        bcc = _addresses(destinations.get("BccAddresses"))
        body = str(message.body or "")
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = message.source
        if to:
            msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        if bcc:
            msg["Bcc"] = ", ".join(bcc)
        msg["Subject"] = message.subject or ""
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = f"<{message.id}@email.amazonses.com>"
        msg["X-SES-Message-ID"] = message.id
        msg.set_content(body, subtype="html" if _HTML.search(body) else "plain")
        path = self._path(message.id)
        path.write_bytes(msg.as_bytes())
        return CapturedEmail(
            id=message.id,
            sender=message.source,
            to=to,
            cc=cc,
            bcc=bcc,
            subject=message.subject or "",
            path=path,
            captured_at=now.isoformat(),
        )

    def _write_raw(self, message: Any, now: datetime) -> CapturedEmail:
        raw = message.raw_data
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        path = self._path(message.id)
        path.write_bytes(data)
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        to = [formatted for _, formatted in getaddresses([str(v) for v in parsed.get_all("To", [])])]
        cc = [formatted for _, formatted in getaddresses([str(v) for v in parsed.get_all("Cc", [])])]
        bcc = [formatted for _, formatted in getaddresses([str(v) for v in parsed.get_all("Bcc", [])])]
        if not to:
            to = _addresses(message.destinations)
        return CapturedEmail(
            id=message.id,
            sender=str(parsed.get("From") or message.source or ""),
            to=to,
            cc=cc,
            bcc=bcc,
            subject=str(parsed.get("Subject") or ""),
            path=path,
            captured_at=now.isoformat(),
            kind="raw",
        )

    def _write_template(self, message: Any, now: datetime) -> CapturedEmail:
        message_id = getattr(message, "id", None) or "-".join(getattr(message, "ids", []) or ["template"])
        destinations = message.destinations
        if isinstance(destinations, dict):
            to = _addresses(destinations.get("ToAddresses"))
        else:
            to = [
                address
                for entry in destinations or []
                for address in _addresses((entry.get("Destination") or {}).get("ToAddresses"))
            ]
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = message.source
        if to:
            msg["To"] = ", ".join(to)
        msg["Subject"] = f"[SES template {message.template}]"
        msg["Date"] = format_datetime(now)
        msg["X-SES-Template"] = str(message.template)
        msg.set_content(f"Template: {message.template}\nTemplate data:\n{_pretty(message.template_data)}\n")
        path = self._path(message_id)
        path.write_bytes(msg.as_bytes())
        return CapturedEmail(
            id=message_id,
            sender=message.source,
            to=to,
            cc=[],
            bcc=[],
            subject=str(msg["Subject"]),
            path=path,
            captured_at=now.isoformat(),
            kind="template",
        )


def _pretty(data: Any) -> str:
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(data)
