"""SES: one email, as text and HTML, from the service's sender address to one recipient."""

from __future__ import annotations

from s2s.adapters import aws


def send_email(sender: str, to: str, subject: str, text: str, html: str) -> str:
    """Send it; SES's message id. Raises when SES refuses or fails (the caller retries)."""
    response = aws.ses().send_email(
        Source=sender,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
        },
    )
    return str(response["MessageId"])
