"""Which address, and display name, an email row goes out from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduled_comms.errors import SenderRefused
from scheduled_comms.logic.references import from_email_allowed
from scheduled_comms.ports import SenderSource


@dataclass(frozen=True)
class EmailSender:
    address: str
    name: str | None = None


def choose_email_sender(
    source: SenderSource, company_id: str, payload: dict[str, Any], service_default: str | None
) -> EmailSender:
    """The sender of an email row, decided when it is sent (registrations may have changed since it was written).

    ``payload.sender_user_id`` names a user whose registered sender gives the address and the name; the
    payload's ``from_email``, when given, replaces the address only. Without either, the company's default
    sender, else the service's. An address the payload or a user names must be in the domain of the
    company's sender. Raises ``SenderRefused`` saying why when no allowed sender is left.
    """
    company_sender = source.sender_settings(company_id).default_from_email
    name = payload.get("from_name")  # a templated message's brand name
    address = payload.get("from_email")
    if payload.get("sender_user_id"):
        user = source.user_sender(company_id, payload["sender_user_id"])
        if user is None:
            raise SenderRefused(f"sender_user_id {payload['sender_user_id']} has no registered sender")
        name, address = user.from_name, address or user.from_email
    if address and not from_email_allowed(address, company_sender):
        raise SenderRefused(
            f"from_email domain {address.rpartition('@')[2]} is not this company's sender domain"
            " (set it with `scheduled-comms senders set`)"
        )
    address = address or company_sender or service_default
    if not address:
        raise SenderRefused("no sender address: set payload.from_email or the company's default sender")
    return EmailSender(address, name)
