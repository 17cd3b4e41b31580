"""What a row names must be the company's own: its sender number, voice configs, users' senders and
sender domain.

Checked when a row is created or its payload replaced (a 422 naming the field, nothing spent), and
again by the senders when it goes out, since a registration may change in between.
"""

from __future__ import annotations

from typing import Any

from scheduled_comms.errors import FieldError, ValidationFailed
from scheduled_comms.models.domain import Channel
from scheduled_comms.ports import ReferenceSource


def from_email_allowed(from_email: str, company_sender: str | None) -> bool:
    """A company sends only from its own sender's domain: SES would send as any identity of the account."""
    domain = from_email.rpartition("@")[2].lower()
    return bool(company_sender) and domain == str(company_sender).rpartition("@")[2].lower()


def from_email_refusal(from_email: str, company_sender: str | None) -> str | None:
    """Why ``from_email`` may not be a sender of the company whose sender is ``company_sender`` (None: it may)."""
    if from_email_allowed(from_email, company_sender):
        return None
    if not company_sender:
        return "must be in the domain of the company's sender; none is set (`scheduled-comms senders set`)"
    return f"must be in the domain of the company's sender ({company_sender.rpartition('@')[2]})"


def reference_errors(
    references: ReferenceSource, company_id: str, channel: Channel, payload: dict[str, Any]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if channel is Channel.SMS:
        if references.phone_number(company_id, payload["phone_number_id"]) is None:
            errors.append(FieldError("payload.phone_number_id", "is not a phone number this company registered"))
    elif channel is Channel.VOICE_CALL:
        configs = {"payload.voice_agent_outbound_config_id": payload["voice_agent_outbound_config_id"]}
        if payload.get("follow_ups"):
            configs["payload.follow_ups.voice_agent_outbound_config_id"] = payload["follow_ups"][
                "voice_agent_outbound_config_id"
            ]
        for field, config_id in configs.items():
            if references.voice_config(company_id, config_id) is None:
                errors.append(FieldError(field, "is not a voice-agent config this company registered"))
    else:
        if payload.get("from_email"):
            refusal = from_email_refusal(
                payload["from_email"], references.sender_settings(company_id).default_from_email
            )
            if refusal:
                errors.append(FieldError("payload.from_email", refusal))
        if payload.get("sender_user_id") and references.user_sender(company_id, payload["sender_user_id"]) is None:
            errors.append(
                FieldError(
                    "payload.sender_user_id", "is not a user with a sender this company registered (PUT /v1/senders)"
                )
            )
    return errors


def check_references(references: ReferenceSource, company_id: str, channel: Channel, payload: dict[str, Any]) -> None:
    """Raise a 422 naming every field that names something the company does not have."""
    errors = reference_errors(references, company_id, channel, payload)
    if errors:
        raise ValidationFailed("The payload names something this company has not registered", errors)
