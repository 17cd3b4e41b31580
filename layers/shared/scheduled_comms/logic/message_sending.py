"""Sending templated messages: a message's row is rendered into its channel's payload at send time, and a
HIPAA message's sealed variables are purged once its row is terminal.

Kept apart from the API's use cases so the tick imports only this, and Jinja2 on its first message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from scheduled_comms.errors import SealBroken
from scheduled_comms.logic.transitions import RowChange
from scheduled_comms.models.domain import TERMINAL, Communication, SendResult, Source
from scheduled_comms.models.messages import MESSAGE_PAYLOAD_KEY, SEALED_VARIABLES, seal_context
from scheduled_comms.models.templates import MessageChannel
from scheduled_comms.ports import CommunicationStore, MessageCatalog, Sealer, Sender


class MessageUnrenderable(Exception):
    """A message's template version or brand is gone, or its render failed: the message fails, saying why."""


def rendered_payload(
    catalog: MessageCatalog, company_id: str, message: dict[str, Any], variables: dict[str, Any]
) -> dict[str, Any]:
    """The channel payload a message's row sends: its pinned template version rendered with its variables
    and its brand as the brand is now (an address or number the brand names is checked again by the sender).

    A HIPAA message's failure says which part failed and how, never with what (a value could be in it)."""
    from scheduled_comms.logic.templates import RenderFailed, render

    template = catalog.template_version(company_id, message["template_key"], message["template_version"])
    if template is None:
        raise MessageUnrenderable(f"template {message['template_key']} v{message['template_version']} is gone")
    brand = catalog.brand(company_id, message["brand_id"])
    if brand is None:
        raise MessageUnrenderable(f"brand {message['brand_id']} is gone")
    channel = MessageChannel(message["channel"])
    try:
        parts = render(template.parts, channel, variables, brand.template_view())
    except RenderFailed as exc:
        reason = exc.reason.split(":", 1)[0] if message.get("hipaa") else exc.reason
        raise MessageUnrenderable(f"template_render_failed: {exc.field} {reason}") from None
    if channel is MessageChannel.PUSH:
        return {
            "person_id": message["person_id"],
            "brand_id": brand.id,
            "recipient": message["recipient"],
            "push": _push_part(parts),
        }
    if channel is MessageChannel.IN_APP:
        return {
            "person_id": message["person_id"],
            "brand_id": brand.id,
            "template_key": message["template_key"],
            "in_app": {"title": parts["title"], "body": parts["body"], "action_url": parts.get("action_url")},
        }
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


def _push_part(parts: dict[str, str]) -> dict[str, Any]:
    push: dict[str, Any] = {
        "title": parts["title"],
        "body": parts["body"],
        "data": {name.removeprefix("data."): text for name, text in parts.items() if name.startswith("data.")},
    }
    if parts.get("badge", "").strip():
        badge = parts["badge"].strip()
        if not badge.isdigit() or int(badge) > 9999:
            raise MessageUnrenderable("template_render_failed: badge must render to a whole number from 0 to 9999")
        push["badge"] = int(badge)
    if parts.get("sound", "").strip():
        push["sound"] = parts["sound"].strip()
    return push


class TemplatedSender:
    """The ``Sender`` in front of the channels' senders: a templated message's row is rendered into its
    channel's payload first (a HIPAA message's variables opened with ``sealer``, built on first need), and a
    message that cannot be rendered fails, saying why, with nothing sent."""

    def __init__(self, inner: Sender, catalog: MessageCatalog, sealer: Callable[[], Sealer]) -> None:
        self._inner = inner
        self._catalog = catalog
        self._sealer = sealer

    def send(self, row: Communication) -> SendResult:
        message = row.payload.get(MESSAGE_PAYLOAD_KEY) if row.source is Source.MESSAGE else None
        if message is None:
            return self._inner.send(row)
        try:
            variables = self._variables(row, message)
            payload = rendered_payload(self._catalog, row.company_id, message, variables)
        except SealBroken as exc:
            return SendResult.fail(f"hipaa_variables_unreadable: {exc}")
        except MessageUnrenderable as exc:
            return SendResult.fail(str(exc))
        return self._inner.send(row.model_copy(update={"payload": payload}))

    def _variables(self, row: Communication, message: dict[str, Any]) -> dict[str, Any]:
        if SEALED_VARIABLES not in message:
            return dict(message.get("variables", {}))
        opened = self._sealer().open(message[SEALED_VARIABLES], seal_context(row.company_id, row.id))
        return dict(json.loads(opened))


def purge_sealed_variables(change: RowChange, store: CommunicationStore) -> bool:
    """Once a HIPAA message's row is terminal, its sealed variables are removed (its metadata stays).

    Called for every row change the table's stream carries; True when it removed something."""
    new = change.new
    if new is None or new.source is not Source.MESSAGE or new.status not in TERMINAL:
        return False
    if change.old is not None and change.old.status in TERMINAL:
        return False
    row = store.get(new.company_id, new.id)
    if row is None or SEALED_VARIABLES not in row.payload.get(MESSAGE_PAYLOAD_KEY, {}):
        return False
    message = {name: value for name, value in row.payload[MESSAGE_PAYLOAD_KEY].items() if name != SEALED_VARIABLES}
    return store.replace_terminal_payload(row, {**row.payload, MESSAGE_PAYLOAD_KEY: message})
