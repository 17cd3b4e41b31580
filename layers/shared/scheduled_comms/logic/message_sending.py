"""Sending templated messages: a message's row is rendered into its channel's payload at send time.

Kept apart from the API's use cases so the tick imports only this, and Jinja2 on its first message.
"""

from __future__ import annotations

from typing import Any

from scheduled_comms.models.domain import Communication, SendResult, Source
from scheduled_comms.models.messages import MESSAGE_PAYLOAD_KEY
from scheduled_comms.models.templates import MessageChannel
from scheduled_comms.ports import MessageCatalog, Sender


class MessageUnrenderable(Exception):
    """A message's template version or brand is gone, or its render failed: the message fails, saying why."""


def rendered_payload(catalog: MessageCatalog, company_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The channel payload a message's row sends: its pinned template version rendered with its variables
    and its brand as the brand is now (an address or number the brand names is checked again by the sender)."""
    template = catalog.template_version(company_id, message["template_key"], message["template_version"])
    if template is None:
        raise MessageUnrenderable(f"template {message['template_key']} v{message['template_version']} is gone")
    brand = catalog.brand(company_id, message["brand_id"])
    if brand is None:
        raise MessageUnrenderable(f"brand {message['brand_id']} is gone")
    from scheduled_comms.logic.templates import RenderFailed, render

    channel = MessageChannel(message["channel"])
    try:
        parts = render(template.parts, channel, message.get("variables", {}), brand.template_view())
    except RenderFailed as exc:
        raise MessageUnrenderable(f"template_render_failed: {exc.field} {exc.reason}") from None
    if channel is MessageChannel.SMS:
        if brand.phone_number_id is None:
            raise MessageUnrenderable(f"brand {brand.id} has no phone_number_id to send SMS from")
        return {
            "phone_number_id": brand.phone_number_id,
            "to_number": message["recipient"],
            "message_body": parts["body"],
        }
    payload = {
        "to_email": message["recipient"],
        "subject": parts["subject"],
        "html_body": parts["html"],
        "text_body": parts.get("text"),
        "from_email": brand.from_email,
        "from_name": brand.name,
        "reply_to": brand.reply_to,
    }
    return {name: value for name, value in payload.items() if value is not None}


class TemplatedSender:
    """The ``Sender`` in front of the channels' senders: a templated message's row is rendered into its
    channel's payload first, and a message that cannot be rendered fails, saying why, with nothing sent."""

    def __init__(self, inner: Sender, catalog: MessageCatalog) -> None:
        self._inner = inner
        self._catalog = catalog

    def send(self, row: Communication) -> SendResult:
        message = row.payload.get(MESSAGE_PAYLOAD_KEY) if row.source is Source.MESSAGE else None
        if message is None:
            return self._inner.send(row)
        try:
            payload = rendered_payload(self._catalog, row.company_id, message)
        except MessageUnrenderable as exc:
            return SendResult.fail(str(exc))
        return self._inner.send(row.model_copy(update={"payload": payload}))
