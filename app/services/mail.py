"""Send e-mail: through SMTP when MAIL_SERVER is set, else as .eml files in MAIL_OUTBOX_FOLDER.

The standard library's smtplib and email, no extra dependency. Development and testing have
no MAIL_SERVER: each message is written to the outbox folder (under instance/ by default), so
an operator can open what would have been sent.
"""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app


def build(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="consulta-abierta")
    message.set_content(body)
    return message


def send(message: EmailMessage) -> str:
    """Send one message; return where it went (the SMTP server, or the .eml file's path)."""
    config = current_app.config
    server = config.get("MAIL_SERVER")
    if not server:
        folder = Path(config["MAIL_OUTBOX_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(message.as_bytes())
        return str(path)
    with smtplib.SMTP(server, int(config.get("MAIL_PORT") or 25), timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    return f"smtp://{server}"
