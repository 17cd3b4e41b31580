"""The dispatch workers' engine: the senders, their shared quotas, and the directory read through a cache."""

from __future__ import annotations

from datetime import timedelta

from scheduled_comms.adapters.directory import DynamoDirectory
from scheduled_comms.adapters.dynamodb.protection import DynamoSendCounters
from scheduled_comms.adapters.dynamodb.rate_limits import DynamoRateBuckets
from scheduled_comms.adapters.senders import ChannelSenders, HttpVoiceSender, SesEmailSender, SnsSmsSender
from scheduled_comms.composition import component
from scheduled_comms.composition.campaigns import campaign_call_store
from scheduled_comms.composition.company import vault
from scheduled_comms.composition.protection import do_not_contact_list
from scheduled_comms.composition.secrets import message_sealer
from scheduled_comms.composition.stores import dispatch_store
from scheduled_comms.composition.voice import endpoint_rules, host_resolver
from scheduled_comms.logic.campaigns.gate import CampaignCallGate
from scheduled_comms.logic.dispatch.engine import DispatchConfig, Dispatcher, Gate
from scheduled_comms.logic.in_app_sending import InAppSender
from scheduled_comms.logic.message_sending import TemplatedSender
from scheduled_comms.logic.pacing import PacedSender, SendQuotas, SharedRateLimiter
from scheduled_comms.logic.protection import DoNotContactGate, FrequencyCapGate
from scheduled_comms.logic.push_sending import PushSender
from scheduled_comms.models.domain import Channel, now_utc
from scheduled_comms.settings import get_settings


@component
def dispatch_directory() -> DynamoDirectory:
    """The tick's directory: it reads the same few items for many rows, so it keeps them a while."""
    settings = get_settings()
    return DynamoDirectory(settings.communications_table, cache_seconds=settings.directory_cache_seconds)


@component
def send_quotas() -> SendQuotas:
    settings = get_settings()
    return SendQuotas(
        per_provider={
            Channel.EMAIL: settings.ses_sends_per_second,
            Channel.SMS: settings.sms_sends_per_second,
            Channel.VOICE_CALL: settings.voice_calls_per_second,
        },
        per_company=settings.company_sends_per_second,
    )


@component
def rate_limiter() -> SharedRateLimiter:
    """Slots of the quotas every worker shares, reserved a batch at a time (at most one per send in flight)."""
    settings = get_settings()
    return SharedRateLimiter(DynamoRateBuckets(settings.communications_table), max_batch=settings.sender_concurrency)


@component
def paced_senders() -> PacedSender:
    """The channels' senders, each send paced to its company's and its provider's shared quotas."""
    return PacedSender(TemplatedSender(senders(), dispatch_directory(), message_sealer), rate_limiter(), send_quotas())


@component
def senders() -> ChannelSenders:
    settings = get_settings()
    return ChannelSenders(
        email=SesEmailSender(
            dispatch_directory(), settings.default_from_email, configuration_set=settings.ses_configuration_set
        ),
        sms=SnsSmsSender(dispatch_directory()),
        voice=HttpVoiceSender(
            dispatch_directory(),
            vault(),
            settings.voice_webhook_url,
            settings.voice_timeout_seconds,
            endpoint_rules(),
            host_resolver(),
        ),
        push=push_sender(),
        in_app=in_app_sender(),
    )


@component
def in_app_sender() -> InAppSender:
    from scheduled_comms.composition.inbox import inbox_store

    return InAppSender(inbox_store(), now_utc)


@component
def push_sender() -> PushSender:
    from scheduled_comms.composition.people import device_store, push_endpoints

    return PushSender(device_store(), push_endpoints(), get_settings().push_ttl_seconds, now_utc)


def dispatch_config() -> DispatchConfig:
    settings = get_settings()
    return DispatchConfig(
        lease_seconds=settings.lease_seconds,
        poll_step_seconds=settings.poll_step_seconds,
        read_ahead_seconds=settings.poll_step_seconds,
        tick_interval_seconds=settings.tick_interval_seconds,
        reserve_seconds=settings.tick_reserve_seconds,
        page_size=settings.claim_page_size,
        concurrency=settings.sender_concurrency,
        backoff_base_seconds=settings.backoff_base_seconds,
        backoff_cap_seconds=settings.backoff_cap_seconds,
    )


def dispatcher() -> Dispatcher:
    """One worker's dispatcher; each reads companies' settings afresh, then keeps them a while."""
    dispatch_directory().forget()
    return Dispatcher(
        dispatch_store(),
        paced_senders(),
        dispatch_directory(),
        dispatch_config(),
        gates=dispatch_gates(),
    )


def dispatch_gates() -> tuple[Gate, ...]:
    """What may hold or skip a row about to be sent, in order: the recipient's protection first (a call kept from
    its callee must not take a campaign's slot), then the campaign's status and concurrency."""
    return (do_not_contact_gate(), frequency_cap_gate(), campaign_call_gate())


@component
def do_not_contact_gate() -> DoNotContactGate:
    return DoNotContactGate(do_not_contact_list())


@component
def frequency_cap_gate() -> FrequencyCapGate:
    return FrequencyCapGate(dispatch_directory(), DynamoSendCounters(get_settings().communications_table))


@component
def campaign_call_gate() -> CampaignCallGate:
    """Campaign calls dial only while their campaign is scheduled or active."""
    return CampaignCallGate(campaign_call_store(), timedelta(seconds=get_settings().campaign_max_call_seconds))
