"""SES capture: every message moto's SES (v1 and v2) accepted, read from its backend under the
moto lock and written once as an ``.eml`` file under ``<state_dir>/mail/`` (raw ones as sent)."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from dataclasses import dataclass
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
    kind: str = "simple"  # simple | raw

    def as_dict(self) -> dict[str, Any]:
        head = {
            "id": self.id,
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "bcc": self.bcc,
            "subject": self.subject,
        }
        return {**head, "path": str(self.path), "captured_at": self.captured_at, "kind": self.kind}

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


def _addresses(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


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
        from moto.ses.models import ses_backends

        with self._moto_lock:
            backends = [backend for account in list(ses_backends.values()) for backend in list(account.values())]
            pending = [message for backend in backends for message in list(backend.sent_messages)]
        with self._lock:
            for message in pending:
                key = str(getattr(message, "id", None) or id(message))
                if key not in self._seen:
                    self._seen.add(key)
                    self._emails.extend(self._write(message, datetime.now(UTC)))
            return list(self._emails)

    def _write(self, message: Any, now: datetime) -> list[CapturedEmail]:
        if hasattr(message, "raw_data"):
            return [self._write_raw(message, now)]
        if hasattr(message, "body") and hasattr(message, "subject"):
            destinations = message.destinations or {}
            to, cc, bcc = (_addresses(destinations.get(f"{kind}Addresses")) for kind in ("To", "Cc", "Bcc"))
            captured = self._captured(message.id, message.source, to, cc, bcc, message.subject or "", now=now)
            body = str(message.body or "")
            headers = {"Message-ID": f"<{message.id}@email.amazonses.com>", "X-SES-Message-ID": message.id}
            return [self._write_eml(captured, body, "html" if _HTML.search(body) else "plain", headers)]
        return []

    def _captured(self, message_id: str, sender: str, *fields: Any, now: datetime, **more: Any) -> CapturedEmail:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", message_id)
        path = self.directory / f"{len(self._emails) + 1:04d}-{safe}.eml"
        self.directory.mkdir(parents=True, exist_ok=True)
        return CapturedEmail(message_id, sender, *fields, path=path, captured_at=now.isoformat(), **more)

    def _write_eml(self, captured: CapturedEmail, text: str, subtype: str, headers: dict[str, str]) -> CapturedEmail:
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = captured.sender
        for name, addresses in (("To", captured.to), ("Cc", captured.cc), ("Bcc", captured.bcc)):
            if addresses:
                msg[name] = ", ".join(addresses)
        msg["Subject"] = captured.subject
        msg["Date"] = format_datetime(datetime.fromisoformat(captured.captured_at))
        for name, value in headers.items():
            msg[name] = value
        msg.set_content(text, subtype=subtype)
        captured.path.write_bytes(msg.as_bytes())
        return captured

    def _write_raw(self, message: Any, now: datetime) -> CapturedEmail:
        raw = message.raw_data
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        to, cc, bcc = (
            [a for _, a in getaddresses([str(v) for v in parsed.get_all(h, [])])] for h in ("To", "Cc", "Bcc")
        )
        sender, subject = str(parsed.get("From") or message.source or ""), str(parsed.get("Subject") or "")
        to = to or _addresses(message.destinations)
        captured = self._captured(message.id, sender, to, cc, bcc, subject, now=now, kind="raw")
        captured.path.write_bytes(data)
        return captured
