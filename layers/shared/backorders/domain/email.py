"""An email as the notifier composes it, and what can happen when it is sent.

The ``Mailer`` port (``services.notifier``) sends an ``Email`` or raises one of:

- ``Retry``: the mail service did not take it; sending it again cannot double it;
- ``Rejected``: refused for good;
- ``Unknown``: it may have been taken (no answer came): it is never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid


class SendFailed(Exception):
    """Base of the three outcomes other than "accepted"."""


class Retry(SendFailed):
    """SES did not take the message; sending it again is safe."""


class Rejected(SendFailed):
    """SES refused the message for good."""


class Unknown(SendFailed):
    """SES may have taken the message: never send it again."""


@dataclass(frozen=True, slots=True)
class Email:
    """One message as the notifier composed it."""

    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    sender_name: str | None = None
    reply_to: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # List-Unsubscribe and its companion
    message_id: str = ""  # ours: sent as a tag, and the MIME Message-ID's left part

    def __repr__(self) -> str:  # never print an address or a message's content
        return f"Email(message_id={self.message_id!r}, recipients={len(self.to)})"

    def mime(self) -> bytes:
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name or "", self.sender))
        message["To"] = ", ".join(self.to)
        if self.reply_to:
            message["Reply-To"] = ", ".join(self.reply_to)
        message["Subject"] = self.subject
        message["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "backorders.invalid"
        message["Message-ID"] = make_msgid(idstring=self.message_id or None, domain=domain)
        if self.message_id:  # ours, for tracing a message back to its intents
            message["X-Backorders-Notification"] = self.message_id
        for name, value in self.headers:
            message[name] = value
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message.as_bytes()
