"""Templated messages (spec 002): templates, brands, and messages scheduled by template with a dedup key.

A message becomes an ordinary row of the dispatch engine: its channel (email, SMS, push or in-app), its time, business
hours, retries, credits and events all work as for any row. Its payload names what to render (template
version, brand, recipient, variables) and the tick renders it when it sends (``logic.message_sending``).
Only the routes that compile or render (PUT of a template, scheduling) import Jinja2.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from scheduled_comms.errors import (
    Conflict,
    DedupConflict,
    FieldError,
    IdempotencyKeyReused,
    NotFound,
    NotPending,
    ValidationFailed,
    field_errors,
)
from scheduled_comms.logic.auth import require_scopes
from scheduled_comms.logic.communications import check_schedule_time, resolve_scheduled_for
from scheduled_comms.logic.cursor import decode_cursor, encode_cursor
from scheduled_comms.logic.references import from_email_refusal
from scheduled_comms.models.domain import (
    MAX_ATTEMPTS,
    Caller,
    Channel,
    Communication,
    IdempotencyClaim,
    ListFilters,
    Replayed,
    Scope,
    Source,
    Status,
)
from scheduled_comms.models.messages import (
    MAX_VARIABLES_BYTES,
    MESSAGE_PAYLOAD_KEY,
    SEALED_VARIABLES,
    STATUS_OF_MESSAGE,
    Brand,
    BrandPut,
    MessageFilters,
    MessageList,
    MessageListMeta,
    MessageOut,
    ScheduleMessageRequest,
    StoredTemplate,
    seal_context,
)
from scheduled_comms.models.push import DEVICE_ID_PATTERN
from scheduled_comms.models.templates import MessageChannel, TemplateDefinition
from scheduled_comms.models.values import E164Number, EmailAddress, new_id
from scheduled_comms.ports import CommunicationStore, DeviceStore, MessageCatalog, Sealer

ENGINE_CHANNEL = {
    MessageChannel.EMAIL: Channel.EMAIL,
    MessageChannel.SMS: Channel.SMS,
    MessageChannel.PUSH: Channel.PUSH,
    MessageChannel.IN_APP: Channel.IN_APP,
}
CHANNEL_SCOPE = {
    MessageChannel.EMAIL: Scope.EMAIL_SEND,
    MessageChannel.SMS: Scope.SMS_SEND,
    MessageChannel.PUSH: Scope.PUSH_SEND,
    MessageChannel.IN_APP: Scope.IN_APP_SEND,
}
# Channels whose text may be seen by whoever holds the device (a lock screen) or is kept rendered (an inbox):
# a HIPAA message may use them only with a template marked phi_safe.
PHI_SAFE_ONLY = {
    MessageChannel.SMS: "SMS are not private",
    MessageChannel.PUSH: "pushes show on lock screens",
    MessageChannel.IN_APP: "the inbox keeps the rendered text",
}
# A dedup key is held at least this long after the message's time (and as long as the row is kept).
DEDUP_SPARE = timedelta(days=30)
# Pages of rows a message list reads at most before it answers what it found, with a cursor.
MAX_LIST_PASSES = 5
_recipient_checks: dict[MessageChannel, TypeAdapter[str]] = {}


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field} {message}", [FieldError(field, message)])


# -- templates -------------------------------------------------------------------------------------------


def put_template(
    catalog: MessageCatalog, caller: Caller, key: str, definition: TemplateDefinition, now: datetime
) -> StoredTemplate:
    """Store ``definition`` as the key's next version (a template that does not compile is refused whole)."""
    from scheduled_comms.logic.templates import compile_problems, schema_problems

    require_scopes(caller, Scope.MESSAGES_WRITE)
    problems = compile_problems(definition.parts)
    if definition.variables_schema is not None:
        problems += schema_problems(definition.variables_schema)
    if problems:
        raise ValidationFailed("The template is not valid; see details", problems)
    version = catalog.template_head_version(caller.company_id, key) + 1
    stored = StoredTemplate(**definition.model_dump(), key=key, version=version, created_at=now)
    if not catalog.put_template(caller.company_id, stored):
        raise Conflict("Another PUT of this template was stored first; send yours again")
    return stored


def get_template(catalog: MessageCatalog, caller: Caller, key: str) -> StoredTemplate:
    require_scopes(caller, Scope.MESSAGES_READ)
    template = catalog.template(caller.company_id, key)
    if template is None:
        raise NotFound("No template with this key")
    return template


def list_templates(catalog: MessageCatalog, caller: Caller) -> list[StoredTemplate]:
    require_scopes(caller, Scope.MESSAGES_READ)
    return sorted(catalog.templates(caller.company_id), key=lambda template: template.key)


def delete_template(catalog: MessageCatalog, caller: Caller, key: str, now: datetime) -> None:
    """Retire the key: new messages cannot use it; those already scheduled still render their version."""
    require_scopes(caller, Scope.MESSAGES_WRITE)
    if not catalog.delete_template(caller.company_id, key, now):
        raise NotFound("No template with this key")


# -- brands ----------------------------------------------------------------------------------------------


def _push_app_problems(request: BrandPut, push_app_prefix: str) -> list[FieldError]:
    """Each application must be of its field's platform and one of this stack's (its name starts with
    ``push_app_prefix``): the service may publish only through the stack's own applications."""
    if request.push_apps is None:
        return []
    problems = []
    for platform in request.push_apps.platforms():
        arn = request.push_apps.arn(platform) or ""
        _, sns_platform, name = arn.split(":", 5)[5].split("/", 2)
        field = f"push_apps.{platform.value}"
        if sns_platform != platform.sns_platform:
            problems.append(FieldError(field, f"must be an {platform.sns_platform} application, not {sns_platform}"))
        elif not name.startswith(push_app_prefix):
            problems.append(FieldError(field, f"must be one of this stack's applications (named {push_app_prefix}*)"))
    return problems


def put_brand(
    catalog: MessageCatalog,
    caller: Caller,
    brand_id: str,
    request: BrandPut,
    now: datetime,
    push_app_prefix: str = "",
) -> Brand:
    require_scopes(caller, Scope.MESSAGES_WRITE)
    problems = _push_app_problems(request, push_app_prefix)
    if request.from_email:
        refusal = from_email_refusal(request.from_email, catalog.sender_settings(caller.company_id).default_from_email)
        if refusal:
            problems.append(FieldError("from_email", refusal))
    if request.phone_number_id and catalog.phone_number(caller.company_id, request.phone_number_id) is None:
        problems.append(FieldError("phone_number_id", "is not a phone number this company registered"))
    if len(json.dumps(request.variables)) > MAX_VARIABLES_BYTES:
        problems.append(FieldError("variables", f"must take at most {MAX_VARIABLES_BYTES} bytes as JSON"))
    if problems:
        raise ValidationFailed("The brand is not valid; see details", problems)
    brand = Brand(**request.model_dump(), id=brand_id, updated_at=now)
    catalog.put_brand(caller.company_id, brand)
    return brand


def get_brand(catalog: MessageCatalog, caller: Caller, brand_id: str) -> Brand:
    require_scopes(caller, Scope.MESSAGES_READ)
    brand = catalog.brand(caller.company_id, brand_id)
    if brand is None:
        raise NotFound("No brand with this id")
    return brand


def list_brands(catalog: MessageCatalog, caller: Caller) -> list[Brand]:
    require_scopes(caller, Scope.MESSAGES_READ)
    return sorted(catalog.brands(caller.company_id), key=lambda brand: brand.id)


# -- messages --------------------------------------------------------------------------------------------


def _check_recipient(
    channel: MessageChannel, recipient: str, person_id: str, company_id: str, devices: Callable[[], DeviceStore]
) -> str:
    """The recipient for the channel: an address, a number, or for push the person (all their devices) or
    one of the person's devices, for in-app the person."""
    if channel is MessageChannel.IN_APP:
        if recipient != person_id:
            raise _refuse("recipient", "must be the person_id: an in-app message lands in the person's inbox")
        return recipient
    if channel is MessageChannel.PUSH:
        if recipient == person_id:
            return recipient
        if not re.fullmatch(DEVICE_ID_PATTERN, recipient):
            raise _refuse("recipient", "must be the person_id (all their devices) or one of their device ids")
        if devices().device(company_id, person_id, recipient) is None:
            raise _refuse("recipient", "is not a device registered for this person")
        return recipient
    if channel not in _recipient_checks:
        _recipient_checks[channel] = TypeAdapter(EmailAddress if channel is MessageChannel.EMAIL else E164Number)
    try:
        return _recipient_checks[channel].validate_python(recipient)
    except ValidationError as exc:
        raise ValidationFailed("recipient is not valid", field_errors(exc.errors(), ("recipient",))) from None


def _message_time(request: ScheduleMessageRequest, zone: str | None, now: datetime) -> datetime:
    """``scheduled_at`` as an instant, checked as ``scheduled_for`` is, errors naming ``scheduled_at``."""
    try:
        instant = resolve_scheduled_for(request.scheduled_at, zone)
        check_schedule_time(instant, now)
    except ValidationFailed as exc:
        details = [FieldError("scheduled_at", problem.message) for problem in exc.details]
        raise ValidationFailed(exc.message.replace("scheduled_for", "scheduled_at"), details) from None
    return instant


def _dedup_claim(
    request: ScheduleMessageRequest, body: Any, scheduled_at: datetime, keep: timedelta
) -> IdempotencyClaim:
    """The dedup key as the create's held key: scoped to brand, person and channel, with the body's hash."""
    scope = "\x1f".join(("dedup", request.brand_id, request.person_id, request.channel.value, request.dedup_key))
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return IdempotencyClaim(scope, fingerprint, scheduled_at + max(keep, DEDUP_SPARE))


def schedule_message(
    store: CommunicationStore,
    catalog: MessageCatalog,
    caller: Caller,
    request: ScheduleMessageRequest,
    body: Any,
    now: datetime,
    kept_for: timedelta,
    sealer: Callable[[], Sealer],
    devices: Callable[[], DeviceStore],
) -> tuple[MessageOut, bool]:
    """Schedule a message by template, once per dedup scope; returns it and whether it was a repeat.

    Checked before anything is written: the channel, the recipient for it, the brand, the template (and its
    part for the channel), HIPAA's rule for SMS, push and in-app, the variables against the template, and the
    time. A HIPAA message's variables are stored sealed (``sealer``), bound to the company and the message. A push
    to one device checks that the device is the person's (``devices``).
    """
    from scheduled_comms.logic.templates import check_variables

    require_scopes(caller, Scope.MESSAGES_WRITE, CHANNEL_SCOPE[request.channel])
    recipient = _check_recipient(request.channel, request.recipient, request.person_id, caller.company_id, devices)
    brand = catalog.brand(caller.company_id, request.brand_id)
    if brand is None:
        raise _refuse("brand_id", "is not a brand of this company (PUT /v1/brands/{brand_id})")
    if request.channel is MessageChannel.SMS and brand.phone_number_id is None:
        raise _refuse("brand_id", "has no phone_number_id to send SMS from")
    if request.channel is MessageChannel.PUSH and (brand.push_apps is None or not brand.push_apps.platforms()):
        raise _refuse("brand_id", "has no push_apps to send pushes through")
    template = catalog.template(caller.company_id, request.template_key)
    if template is None:
        raise _refuse("template_key", "is not a template of this company (PUT /v1/templates/{template_key})")
    if request.channel not in template.parts.channels():
        raise _refuse("template_key", f"has no {request.channel.value} part")
    if request.hipaa and request.channel in PHI_SAFE_ONLY and not template.phi_safe:
        raise _refuse(
            "template_key",
            f"is not marked phi_safe, which a HIPAA {request.channel.value} message needs "
            f"({PHI_SAFE_ONLY[request.channel]})",
        )
    if len(json.dumps(request.variables)) > MAX_VARIABLES_BYTES:
        raise _refuse("variables", f"must take at most {MAX_VARIABLES_BYTES} bytes as JSON")
    problems = check_variables(template, request.channel, request.variables, brand.template_view())
    if problems:
        raise ValidationFailed("The variables do not suit the template; see details", problems)
    zone = request.timezone or catalog.company_timezone(caller.company_id)
    scheduled_at = _message_time(request, zone, now)
    channel = ENGINE_CHANNEL[request.channel]
    row_id = new_id(now)
    message: dict[str, Any] = {
        "channel": request.channel.value,
        "template_key": template.key,
        "template_version": template.version,
        "brand_id": brand.id,
        "person_id": request.person_id,
        "recipient": recipient,
        "dedup_key": request.dedup_key,
        "hipaa": request.hipaa,
        "variables": request.variables,
        "variable_names": sorted(request.variables),
    }
    if request.hipaa:
        plaintext = json.dumps(message.pop("variables")).encode()
        message[SEALED_VARIABLES] = sealer().seal(plaintext, seal_context(caller.company_id, row_id))
    row = Communication(
        id=row_id,
        company_id=caller.company_id,
        channel=channel,
        status=Status.PENDING,
        scheduled_for=scheduled_at,
        timezone=request.timezone,
        respect_business_hours=request.respect_business_hours,
        payload={MESSAGE_PAYLOAD_KEY: message},
        contact_id=request.person_id,
        max_attempts=MAX_ATTEMPTS[channel],
        source=Source.MESSAGE,
        delivery=catalog.default_delivery(caller.company_id),
        created_at=now,
        updated_at=now,
    )
    try:
        outcome = store.create(row, _dedup_claim(request, body, scheduled_at, kept_for))
    except IdempotencyKeyReused:
        raise DedupConflict(
            "A message with this dedup_key was already scheduled for this brand, person and channel with other "
            "content; nothing was written",
            [FieldError("dedup_key", "is already used by another message")],
        ) from None
    if isinstance(outcome, Replayed):
        return MessageOut.of(outcome.row), True
    return MessageOut.of(row), False


def _owned_message(store: CommunicationStore, caller: Caller, message_id: str) -> Communication:
    row = store.get(caller.company_id, message_id)
    if row is None or row.source is not Source.MESSAGE:
        raise NotFound("No message with this id")
    return row


def get_message(store: CommunicationStore, caller: Caller, message_id: str) -> MessageOut:
    require_scopes(caller, Scope.MESSAGES_READ)
    return MessageOut.of(_owned_message(store, caller, message_id))


def cancel_message(store: CommunicationStore, caller: Caller, message_id: str, now: datetime) -> MessageOut:
    """Cancel a message still scheduled; one the tick has taken (or finished) is a 422 ``not_pending``."""
    require_scopes(caller, Scope.MESSAGES_WRITE)
    row = _owned_message(store, caller, message_id)
    if row.status is not Status.PENDING:
        raise NotPending(f"Only scheduled messages can be cancelled; this one is {MessageOut.of(row).status}")
    return MessageOut.of(store.cancel_pending(row, now))


def list_messages(
    store: CommunicationStore,
    caller: Caller,
    filters: MessageFilters,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
) -> MessageList:
    """The company's messages, newest first; ``person_id``, ``status`` and ``channel`` narrow the rows read,
    ``brand_id`` and ``template_key`` the rows kept. A page may come back short, with a cursor, when few of
    the rows read matched."""
    require_scopes(caller, Scope.MESSAGES_READ)
    after_id = decode_cursor(cursor, caller.company_id, filters, cursor_key) if cursor else None
    row_filters = ListFilters(
        status=STATUS_OF_MESSAGE[filters.status] if filters.status else None,
        channel=ENGINE_CHANNEL[filters.channel] if filters.channel else None,
        contact_id=filters.person_id,
    )
    found: list[MessageOut] = []
    next_after: str | None = None
    for _ in range(MAX_LIST_PASSES):
        page = store.list(caller.company_id, row_filters, limit - len(found), after_id)
        for row in page.items:
            if row.source is not Source.MESSAGE:
                continue
            if not row.payload:  # a payload kept in its own item: read the row whole
                row = store.get(caller.company_id, row.id) or row
            message = MessageOut.of(row)
            if filters.keeps(message):
                found.append(message)
        after_id = next_after = page.next_after_id
        if next_after is None or len(found) >= limit:
            break
    next_cursor = encode_cursor(next_after, caller.company_id, filters, cursor_key) if next_after else None
    return MessageList(data=found, meta=MessageListMeta(limit=limit, next_cursor=next_cursor))
