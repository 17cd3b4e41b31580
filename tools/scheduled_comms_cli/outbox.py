"""What the local stack "sent": moto's SES and SNS records and the voice simulator's calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _push_excerpt(message: str, platform: str) -> str:
    """The title and body of a push as the platform got it (SNS's JSON message structure)."""
    import json

    try:
        payload = json.loads(json.loads(message)[platform])
        alert = payload["aps"]["alert"] if "aps" in payload else payload["notification"]
        return f"{alert['title']}: {alert['body']}"[:80]
    except (ValueError, KeyError, TypeError):
        return message[:80]


def sent_messages(voice_calls: list[Any] | None = None) -> list[dict[str, Any]]:
    """Every email, SMS, push (one entry per device) and call, oldest first (read from moto's in-process backends)."""
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    entries: list[dict[str, Any]] = []
    for message in ses_backends[ACCOUNT][REGION].sent_messages:
        destinations = getattr(message, "destinations", {}) or {}
        entries.append(
            {
                "channel": "email",
                "external_id": message.id,
                "recipient": ", ".join(destinations.get("ToAddresses", [])),
                "from": getattr(message, "source", None),
                "subject": getattr(message, "subject", None),
                "excerpt": (getattr(message, "body", "") or "")[:80],
                "at": None,
            }
        )
    for message_id, sms in sns_backends[ACCOUNT][REGION].sms_messages.items():
        number, text = sms[0], sms[1]
        entries.append(
            {"channel": "sms", "external_id": message_id, "recipient": number, "excerpt": str(text)[:80], "at": None}
        )
    for endpoint in sns_backends[ACCOUNT][REGION].platform_endpoints.values():
        for message_id, text in endpoint.messages.items():
            entries.append(
                {
                    "channel": "push",
                    "external_id": message_id,
                    # Per device: the endpoint's user data is the device's id.
                    "recipient": endpoint.custom_user_data or endpoint.arn,
                    "platform": endpoint.application.platform,
                    "excerpt": _push_excerpt(text, endpoint.application.platform),
                    "at": None,
                }
            )
    for call in voice_calls or []:
        entries.append(
            {
                "channel": "voice_call",
                "external_id": call.call_id,
                "recipient": call.to_number,
                "excerpt": f"agent {call.agent_id}; ended: {(call.ended or {}).get('end_reason', 'in progress')}",
                "at": datetime.fromtimestamp(call.placed_at, UTC).isoformat(),
            }
        )
    return entries
