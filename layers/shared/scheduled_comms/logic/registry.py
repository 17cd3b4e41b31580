"""Company settings and registrations: business hours, sender numbers, voice-agent configs, users' senders."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import TypeVar

from scheduled_comms.errors import EndpointRefused, FieldError, NotFound, ValidationFailed
from scheduled_comms.logic.auth import require_scopes
from scheduled_comms.logic.endpoints import EndpointRules, check_endpoint
from scheduled_comms.logic.references import from_email_refusal
from scheduled_comms.models.business_hours import BusinessHours, BusinessHoursResponse, Holidays, HolidaysResponse
from scheduled_comms.models.domain import Caller, Scope
from scheduled_comms.models.protection import FrequencyCaps, FrequencyCapsResponse
from scheduled_comms.models.registry import (
    PhoneNumber,
    PhoneNumberCreate,
    UserSender,
    UserSenderPut,
    VoiceAgentConfig,
    VoiceAgentConfigCreate,
    VoiceAgentConfigCreated,
    VoiceCredentials,
)
from scheduled_comms.models.values import new_id
from scheduled_comms.ports import Directory, HostResolver, Vault


def get_business_hours(directory: Directory, caller: Caller) -> BusinessHoursResponse:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return BusinessHoursResponse(data=directory.business_hours(caller.company_id))


def put_business_hours(
    directory: Directory, caller: Caller, hours: BusinessHours, now: datetime
) -> BusinessHoursResponse:
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    directory.put_business_hours(caller.company_id, hours, now)
    return BusinessHoursResponse(data=hours)


T = TypeVar("T")


def refuse_repeats(
    items: Sequence[T], key: Callable[[T], Hashable], message: str, problem: Callable[[int, T], FieldError]
) -> None:
    """A 422 naming the first item whose ``key`` an earlier item has."""
    seen: set[Hashable] = set()
    for index, item in enumerate(items):
        if key(item) in seen:
            raise ValidationFailed(message, [problem(index, item)])
        seen.add(key(item))


def get_holidays(directory: Directory, caller: Caller) -> HolidaysResponse:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return HolidaysResponse(data=directory.holidays(caller.company_id))


def put_holidays(directory: Directory, caller: Caller, holidays: Holidays, now: datetime) -> HolidaysResponse:
    """Replace the company's holidays: from the next tick on, rows that respect business hours and batch calls
    planned from then on treat them as closed days."""
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    refuse_repeats(
        holidays.holidays,
        lambda holiday: (holiday.date, tuple(sorted(holiday.timezones or ()))),
        "A holiday is listed twice",
        lambda index, _: FieldError(f"holidays[{index}]", "repeats an earlier holiday"),
    )
    directory.put_holidays(caller.company_id, holidays, now)
    return HolidaysResponse(data=holidays)


def get_frequency_caps(directory: Directory, caller: Caller) -> FrequencyCapsResponse:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return FrequencyCapsResponse(data=directory.frequency_caps(caller.company_id))


def put_frequency_caps(
    directory: Directory, caller: Caller, caps: FrequencyCaps, now: datetime
) -> FrequencyCapsResponse:
    require_scopes(caller, Scope.DISPATCHER_WRITE)
    refuse_repeats(
        caps.caps,
        lambda cap: cap.channel,
        "One cap a channel",
        lambda index, cap: FieldError(f"caps[{index}].channel", f"{cap.channel} already has a cap"),
    )
    directory.put_frequency_caps(caller.company_id, caps, now)
    return FrequencyCapsResponse(data=caps)


def register_phone_number(
    directory: Directory, caller: Caller, request: PhoneNumberCreate, now: datetime
) -> PhoneNumber:
    require_scopes(caller, Scope.DISPATCHER_WRITE, Scope.SMS_SEND)
    number = PhoneNumber(id=new_id(now), number=request.number, label=request.label, created_at=now)
    directory.put_phone_number(caller.company_id, number)
    return number


def list_phone_numbers(directory: Directory, caller: Caller) -> list[PhoneNumber]:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return directory.phone_numbers(caller.company_id)


def check_provider_endpoint(url: str, rules: EndpointRules, resolver: HostResolver) -> None:
    """Calls go only to HTTPS hosts that resolve to public addresses, on an allowed port (``check_endpoint``)."""
    try:
        check_endpoint(url, rules, resolver)
    except EndpointRefused as exc:
        raise ValidationFailed(f"endpoint_url {exc.message}", [FieldError("endpoint_url", exc.message)]) from None


def register_voice_agent_config(
    directory: Directory,
    vault: Vault,
    caller: Caller,
    request: VoiceAgentConfigCreate,
    now: datetime,
    rules: EndpointRules,
    resolver: HostResolver,
) -> VoiceAgentConfigCreated:
    """Store a voice-agent config; its credentials go to the vault and the webhook secret is shown once."""
    require_scopes(caller, Scope.DISPATCHER_WRITE, Scope.CALLS_INITIATE)
    check_provider_endpoint(str(request.endpoint_url), rules, resolver)
    config = VoiceAgentConfig(
        id=new_id(now),
        name=request.name,
        provider=request.provider,
        endpoint_url=str(request.endpoint_url),
        agent_id=request.agent_id,
        created_at=now,
    )
    webhook_secret = request.webhook_secret or secrets.token_urlsafe(32)
    secret_arn = vault.put_voice_credentials(
        caller.company_id, config.id, VoiceCredentials(api_key=request.api_key, webhook_secret=webhook_secret)
    )
    directory.put_voice_config(caller.company_id, config, secret_arn)
    return VoiceAgentConfigCreated(**config.model_dump(), webhook_secret=webhook_secret)


def list_voice_agent_configs(directory: Directory, caller: Caller) -> list[VoiceAgentConfig]:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return directory.voice_configs(caller.company_id)


def put_user_sender(
    directory: Directory, caller: Caller, user_id: str, request: UserSenderPut, now: datetime
) -> UserSender:
    """Set the sender of a user's emails (rows naming them in ``payload.sender_user_id``), in the company's domain."""
    require_scopes(caller, Scope.DISPATCHER_WRITE, Scope.EMAIL_SEND)
    refusal = from_email_refusal(request.from_email, directory.sender_settings(caller.company_id).default_from_email)
    if refusal:
        raise ValidationFailed(f"from_email {refusal}", [FieldError("from_email", refusal)])
    sender = UserSender(user_id=user_id, from_email=request.from_email, from_name=request.from_name, updated_at=now)
    directory.put_user_sender(caller.company_id, sender)
    return sender


def get_user_sender(directory: Directory, caller: Caller, user_id: str) -> UserSender:
    require_scopes(caller, Scope.DISPATCHER_READ)
    sender = directory.user_sender(caller.company_id, user_id)
    if sender is None:
        raise NotFound("No sender is registered for this user")
    return sender


def list_user_senders(directory: Directory, caller: Caller) -> list[UserSender]:
    require_scopes(caller, Scope.DISPATCHER_READ)
    return directory.user_senders(caller.company_id)


def delete_user_sender(directory: Directory, caller: Caller, user_id: str) -> None:
    """Remove a user's sender; rows still naming the user fail when they come due (a 422 at create from now on)."""
    require_scopes(caller, Scope.DISPATCHER_WRITE, Scope.EMAIL_SEND)
    if not directory.delete_user_sender(caller.company_id, user_id):
        raise NotFound("No sender is registered for this user")
