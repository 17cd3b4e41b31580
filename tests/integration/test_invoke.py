"""Every function of template.yaml runs with its sample event (``events/``), as ``scheduled-comms invoke``
runs it: the same host, the same event files, the same error object for a handler that raises.

The sample events name one company, key, row, user and voice config; each test seeds them in tables of
its own, so every sample meets the data it is written for and answers as it would on a stack that has it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import boto3
import pytest
from scheduled_comms import composition
from scheduled_comms.logic.auth import ALL_SCOPES, hash_secret
from scheduled_comms.logic.devices import register_device
from scheduled_comms.logic.messages import put_brand, put_template, schedule_message
from scheduled_comms.models.campaigns import Campaign, Contact, ContactFolder, ContactSource, DeliverySettings
from scheduled_comms.models.domain import ApiKeyRecord, Caller, Channel, Communication, Source, Status, now_utc
from scheduled_comms.models.inbox import InboxEntry
from scheduled_comms.models.messages import BrandPut, ScheduleMessageRequest
from scheduled_comms.models.protection import DoNotContactEntry, SuppressedChannel
from scheduled_comms.models.push import Platform, PushApps, RegisterDeviceRequest
from scheduled_comms.models.registry import (
    PhoneNumber,
    SenderSettings,
    UserSender,
    VoiceAgentConfig,
    VoiceCredentials,
)
from scheduled_comms.models.templates import TemplateDefinition
from scheduled_comms_cli.invoke import function_ids, invoke, sample_event_path
from scheduled_comms_local.lambda_host import FunctionHost
from scheduled_comms_local.template import Stack

from tests.conftest import load_event

SAMPLE = load_event("get_communication.json")["requestContext"]["authorizer"]
SAMPLE_KEY = load_event("authorizer.json")["headers"]["Authorization"].removeprefix("Bearer ")
SAMPLE_ROW = load_event("get_communication.json")["pathParameters"]["id"]
SAMPLE_USER = load_event("get_sender.json")["pathParameters"]["user_id"]
SAMPLE_OUTCOME = json.loads(load_event("voice_webhook.json")["body"])
SAMPLE_MESSAGE = load_event("get_message.json")["pathParameters"]["message_id"]
SAMPLE_TEMPLATE = json.loads(load_event("put_template.json")["body"])
SAMPLE_BRAND = load_event("get_brand.json")["pathParameters"]["brand_id"]
TICK_TIME = datetime.fromisoformat(load_event("tick.json")["time"])
SAMPLE_CAMPAIGN = load_event("get_batch_call.json")["pathParameters"]["id"]
SAMPLE_FOLDER = load_event("list_contact_folder_contacts.json")["pathParameters"]["id"]
SAMPLE_NUMBER = "019a5e1c-7d2b-7c3e-9f4a-1b2c3d4e5f62"
SAMPLE_PERSON = load_event("list_devices.json")["pathParameters"]["person_id"]
SAMPLE_DEVICE = load_event("delete_device.json")["pathParameters"]["device_id"]
SAMPLE_DEVICE_TOKEN = "sample-apns-token-" + "0a1b2c3d" * 6  # the token SAMPLE_DEVICE is derived from
SAMPLE_INBOX_MESSAGE = load_event("mark_inbox_read.json")["pathParameters"]["message_id"]
FUNCTIONS = sorted(Stack("names").resources("AWS::Serverless::Function"))


@lru_cache(maxsize=1)
def sample_voice_secret() -> str:
    """The sample voice config's credentials (secrets outlive the tests' own tables: created once)."""
    return composition.vault().put_voice_credentials(
        SAMPLE["company_id"],
        SAMPLE_OUTCOME["metadata"]["voice_agent_outbound_config_id"],
        VoiceCredentials(api_key="k" * 20, webhook_secret="sample-webhook-secret-0123456789"),
    )


def seed_the_sample_company() -> None:
    """The company, key, pending row (due just before the sample tick), user sender and voice config the samples name."""
    company, now = SAMPLE["company_id"], now_utc()
    composition.credit_ledger().grant(company, 10, now)
    composition.api_key_store().put(
        ApiKeyRecord(SAMPLE["key_id"], company, ALL_SCOPES, hash_secret(SAMPLE_KEY), now.isoformat())
    )
    directory = composition.directory()
    directory.put_sender_settings(company, SenderSettings(default_from_email="team@example.com"), now)
    directory.put_user_sender(company, UserSender(user_id=SAMPLE_USER, from_email="sarah@example.com", updated_at=now))
    config = VoiceAgentConfig(
        id=SAMPLE_OUTCOME["metadata"]["voice_agent_outbound_config_id"],
        name="Sample",
        provider="http",
        endpoint_url="https://voice.example.com/calls",
        agent_id="a",
        created_at=now,
    )
    directory.put_voice_config(company, config, sample_voice_secret())
    seed_the_sample_messages(company, now)
    seed_the_sample_person(company, now)
    directory.put_phone_number(company, PhoneNumber(id=SAMPLE_NUMBER, number="+14155550100", created_at=now))
    seed_the_sample_campaign_and_folder(company, config.id, now)
    composition.do_not_contact_list().put(
        company,
        [DoNotContactEntry(channel=SuppressedChannel.SMS, address="+14155550123", source="api", created_at=now)],
    )
    composition.communication_store().create(
        Communication(
            id=SAMPLE_ROW,
            company_id=company,
            channel=Channel.EMAIL,
            status=Status.PENDING,
            scheduled_for=TICK_TIME - timedelta(minutes=1),
            payload={"to_email": "client@example.com", "subject": "Hi", "html_body": "<p>Hi</p>"},
            max_attempts=3,
            source=Source.API,
            created_at=now,
            updated_at=now,
        )
    )


def seed_the_sample_messages(company: str, now: datetime) -> None:
    """The brand, template (version 1) and scheduled message the messages samples name."""
    caller = Caller(company, frozenset(ALL_SCOPES), SAMPLE["key_id"])
    directory = composition.directory()
    put_brand(directory, caller, SAMPLE_BRAND, BrandPut(name="Acme Dental"), now)
    put_template(directory, caller, "appointment_reminder", TemplateDefinition.model_validate(SAMPLE_TEMPLATE), now)
    request = ScheduleMessageRequest.model_validate(
        {
            "channel": "email",
            "template_key": "appointment_reminder",
            "recipient": "patient@example.com",
            "brand_id": SAMPLE_BRAND,
            "person_id": "person-123",
            "variables": {"first_name": "Ana", "time": "9:00"},
            "dedup_key": "seeded",
            "scheduled_at": (max(now, TICK_TIME) + timedelta(days=1)).isoformat(),
        }
    )
    with patch("scheduled_comms.logic.messages.new_id", return_value=SAMPLE_MESSAGE):
        schedule_message(
            composition.communication_store(),
            directory,
            caller,
            request,
            {},
            now,
            timedelta(days=90),
            lambda: None,
            composition.device_store,
        )


def seed_the_sample_person(company: str, now: datetime) -> None:
    """Push applications for the sample brand, the sample person's device, and one unread inbox entry."""
    sns = boto3.client("sns")
    apps = {
        platform: sns.create_platform_application(Name=f"sample-{platform}", Platform=sns_platform, Attributes={})[
            "PlatformApplicationArn"
        ]
        for platform, sns_platform in (("apns", "APNS"), ("fcm", "GCM"))
    }
    caller = Caller(company, frozenset(ALL_SCOPES), SAMPLE["key_id"])
    directory = composition.directory()
    put_brand(directory, caller, SAMPLE_BRAND, BrandPut(name="Acme Dental", push_apps=PushApps(**apps)), now)
    registration = RegisterDeviceRequest(platform=Platform.APNS, token=SAMPLE_DEVICE_TOKEN, brand_id=SAMPLE_BRAND)
    device, _ = register_device(
        composition.device_store(), directory, composition.push_endpoints(), caller, SAMPLE_PERSON, registration, now
    )
    assert device.id == SAMPLE_DEVICE
    entry = InboxEntry(
        message_id=SAMPLE_INBOX_MESSAGE,
        person_id=SAMPLE_PERSON,
        brand_id=SAMPLE_BRAND,
        template_key="appointment_reminder",
        title="Hello",
        body="See you at 9:00",
        landed_at=now,
    )
    composition.inbox_store().land(company, entry)


def expect_schedule_message(response: dict[str, Any]) -> None:
    """The sample's time is fixed: accepted while it lies in the year ahead, else refused naming it."""
    sent = datetime.fromisoformat(json.loads(load_event("schedule_message.json")["body"])["scheduled_at"])
    if datetime.now(UTC) < sent < datetime.now(UTC) + timedelta(days=366):
        assert response["statusCode"] == 201, response
        assert body(response)["status"] == "scheduled" and body(response)["template_version"] == 1
    else:
        assert response["statusCode"] == 422, response
        assert body(response)["error"] == "validation_error"
        assert [d["field"] for d in body(response)["details"]] == ["scheduled_at"]


def seed_the_sample_campaign_and_folder(company: str, agent_id: str, now: datetime) -> None:
    """A draft batch call with one contact and the sample number, and a folder with one contact."""
    store = composition.campaign_store()
    store.create(
        Campaign(
            id=SAMPLE_CAMPAIGN,
            company_id=company,
            name="Sample renewals",
            agent_id=agent_id,
            phone_number_ids=[SAMPLE_NUMBER],
            contact_source=ContactSource.INLINE,
            settings=DeliverySettings(timezone="America/New_York"),
            created_at=now,
            updated_at=now,
        ),
        [Contact(phone_number="+14155550199", name="Dee")],
    )
    folder = ContactFolder(id=SAMPLE_FOLDER, company_id=company, name="Sample folder", created_at=now, updated_at=now)
    store.create_folder(folder, [Contact(phone_number="+14155550198")])


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def expect_create(response: dict[str, Any]) -> None:
    """The sample is a local time in Sydney: accepted while it lies in the year ahead, else refused naming it."""
    sent = json.loads(load_event("create_communication.json")["body"])
    instant = datetime.fromisoformat(sent["scheduled_for"]).replace(tzinfo=ZoneInfo(sent["timezone"]))
    if datetime.now(UTC) < instant < datetime.now(UTC) + timedelta(days=366):
        assert response["statusCode"] == 201, response
        assert body(response)["data"]["scheduled_for"] == instant.astimezone(UTC).isoformat()
    else:
        assert response["statusCode"] == 422, response
        assert [d["field"] for d in body(response)["error"]["details"]] == ["scheduled_for"]


def answers(status: int, check: Callable[[Any], bool] = lambda _: True) -> Callable[[dict[str, Any]], None]:
    def expect(response: dict[str, Any]) -> None:
        assert response["statusCode"] == status, response
        assert check(body(response)), response

    return expect


EXPECTED: dict[str, Callable[[Any], None]] = {
    "AuthorizerFunction": lambda policy: (
        (
            policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
            and policy["context"]["company_id"] == SAMPLE["company_id"]
        )
        or pytest.fail(f"not allowed: {policy}")
    ),
    "HealthFunction": answers(200, lambda b: b["status"] == "ok"),
    "ListCommunicationsFunction": answers(200, lambda b: [r["id"] for r in b["data"]] == [SAMPLE_ROW]),
    "CreateCommunicationFunction": expect_create,
    "GetCommunicationFunction": answers(200, lambda b: b["data"]["id"] == SAMPLE_ROW),
    "UpdateCommunicationFunction": answers(200, lambda b: b["data"]["timezone"] == "Europe/London"),
    "CancelCommunicationFunction": answers(204, lambda b: b is None),
    "DispatchNowFunction": answers(200, lambda b: b["data"]["original_scheduled_for"] is not None),
    "TickFunction": lambda summary: (
        (summary["due_seen"], summary["workers"], summary["slices"]) == (1, 1, [list(range(8))])
        or pytest.fail(f"the due sample row was not handed to one worker: {summary}")
    ),
    "DispatchWorkerFunction": lambda summary: (
        (summary["claimed"], summary["dispatched"]) == (1, 1)
        or pytest.fail(f"the due sample row was not sent: {summary}")
    ),
    "PublishTransitionsFunction": lambda response: (
        response == {"batchItemFailures": []} or pytest.fail(f"records not published: {response}")
    ),
    "GetBusinessHoursFunction": answers(200, lambda b: b["data"]["timezone"] == "UTC"),
    "GetHolidaysFunction": answers(200, lambda b: b["data"] == {"holidays": []}),
    "PutHolidaysFunction": answers(
        200, lambda b: [h["name"] for h in b["data"]["holidays"]] == ["Christmas Day", "Boxing Day"]
    ),
    "GetFrequencyCapsFunction": answers(200, lambda b: b["data"] == {"caps": []}),
    "PutFrequencyCapsFunction": answers(
        200, lambda b: [c["channel"] for c in b["data"]["caps"]] == ["sms", "voice_call"]
    ),
    "PutBusinessHoursFunction": answers(200, lambda b: b["data"]["timezone"] == "Australia/Sydney"),
    "RegisterPhoneNumberFunction": answers(201, lambda b: b["data"]["number"] == "+61412345678"),
    "ListPhoneNumbersFunction": answers(200, lambda b: [n["id"] for n in b["data"]] == [SAMPLE_NUMBER]),
    "RegisterVoiceAgentConfigFunction": answers(201, lambda b: b["data"]["webhook_secret"]),
    "ListVoiceAgentConfigsFunction": answers(200, lambda b: [c["name"] for c in b["data"]] == ["Sample"]),
    "ListSendersFunction": answers(200, lambda b: [s["user_id"] for s in b["data"]] == [SAMPLE_USER]),
    "PutSenderFunction": answers(200, lambda b: b["data"]["from_name"] == "Sarah Jones"),
    "GetSenderFunction": answers(200, lambda b: b["data"]["from_email"] == "sarah@example.com"),
    "DeleteSenderFunction": answers(204, lambda b: b is None),
    # The sample's signature is long stale (5 minutes' tolerance): the provider would be refused.
    "VoiceWebhookFunction": answers(401, lambda b: b["error"]["code"] == "unauthorized"),
    "DocsFunction": answers(200, lambda b: b["openapi"] == "3.1.0" and "/v1/senders/{user_id}" in b["paths"]),
    "MethodNotAllowedFunction": answers(405, lambda b: b["error"]["code"] == "method_not_allowed"),
    "ScheduleMessageFunction": expect_schedule_message,
    "GetMessageFunction": answers(200, lambda b: b["id"] == SAMPLE_MESSAGE and b["status"] == "scheduled"),
    "ListMessagesFunction": answers(200, lambda b: [m["id"] for m in b["data"]] == [SAMPLE_MESSAGE]),
    "CancelMessageFunction": answers(200, lambda b: b["status"] == "cancelled" and b["cancelled_at"]),
    "PutTemplateFunction": answers(200, lambda b: b["version"] == 2),
    "GetTemplateFunction": answers(200, lambda b: b["key"] == "appointment_reminder" and b["version"] == 1),
    "ListTemplatesFunction": answers(200, lambda b: [t["key"] for t in b["data"]] == ["appointment_reminder"]),
    "DeleteTemplateFunction": answers(204, lambda b: b is None),
    "PutBrandFunction": answers(200, lambda b: b["variables"] == {"phone": "+1 415 555 0100"}),
    "GetBrandFunction": answers(200, lambda b: b["name"] == "Acme Dental"),
    "RegisterDeviceFunction": answers(201, lambda b: b["platform"] == "fcm" and b["person_id"] == SAMPLE_PERSON),
    "ListDevicesFunction": answers(200, lambda b: [d["id"] for d in b["data"]] == [SAMPLE_DEVICE]),
    "DeleteDeviceFunction": answers(204, lambda b: b is None),
    "GetInboxFunction": answers(
        200, lambda b: [e["id"] for e in b["data"]] == [SAMPLE_INBOX_MESSAGE] and b["meta"]["unread"] == 1
    ),
    "MarkInboxSeenFunction": answers(200, lambda b: b["seen"] is True and b["status"] == "unread"),
    "MarkInboxReadFunction": answers(200, lambda b: b["status"] == "read"),
    "ArchiveInboxEntryFunction": answers(200, lambda b: b["status"] == "archived"),
    "MarkInboxAllReadFunction": answers(200, lambda b: b == {"marked": 1, "meta": {"unseen": 0, "unread": 0}}),
    "IssueInboxTokenFunction": answers(
        200, lambda b: b["token"].startswith("spt_") and b["person_id"] == SAMPLE_PERSON
    ),
    "ListBrandsFunction": answers(200, lambda b: [brand["id"] for brand in b["data"]] == [SAMPLE_BRAND]),
    # The sample's campaign is a draft in the seeded tables: the planner finds nothing to plan.
    "PlanBatchCallsFunction": lambda summary: (
        summary == {"campaigns": 1, "planned": 0} or pytest.fail(f"unexpected plan: {summary}")
    ),
    "CreateBatchCallFunction": answers(
        201, lambda b: b["data"]["status"] == "draft" and b["data"]["contacts"]["total"] == 2
    ),
    "ListBatchCallsFunction": answers(200, lambda b: [c["id"] for c in b["data"]] == [SAMPLE_CAMPAIGN]),
    "GetBatchCallFunction": answers(
        200, lambda b: b["data"]["contacts"]["by_status"]["pending"] == 1 and b["data"]["live"]["calls_in_flight"] == 0
    ),
    "GetBatchCallAnalyticsFunction": answers(
        200,
        lambda b: (
            (b["data"]["calls_placed"], b["data"]["connect_rate"], b["data"]["contacts"]["total"]) == (0, None, 1)
        ),
    ),
    "UpdateBatchCallFunction": answers(
        200, lambda b: (b["data"]["start_time"], b["data"]["max_calls_per_day"]) == ("09:30", 80)
    ),
    "AddBatchCallContactsFunction": answers(201, lambda b: b["data"] == {"added": 1, "contacts_total": 2}),
    "ListBatchCallContactsFunction": answers(200, lambda b: [c["phone_number"] for c in b["data"]] == ["+14155550199"]),
    "ScheduleBatchCallFunction": answers(
        202, lambda b: (b["data"]["status"], b["data"]["credits_reserved"]) == ("scheduling", 1)
    ),
    # A draft is neither paused nor resumed: the answer names the status it is in.
    "PauseBatchCallFunction": answers(
        409, lambda b: b["error"]["details"] == [{"field": "status", "message": "is draft"}]
    ),
    "ResumeBatchCallFunction": answers(
        409, lambda b: b["error"]["details"] == [{"field": "status", "message": "is draft"}]
    ),
    "CancelBatchCallFunction": answers(200, lambda b: b["data"]["status"] == "cancelled"),
    "CreateContactFolderFunction": answers(201, lambda b: b["data"]["contacts_total"] == 1),
    "ListContactFoldersFunction": answers(200, lambda b: [f["id"] for f in b["data"]] == [SAMPLE_FOLDER]),
    "AddContactFolderContactsFunction": answers(201, lambda b: b["data"] == {"added": 1, "contacts_total": 2}),
    "ListContactFolderContactsFunction": answers(
        200, lambda b: [c["phone_number"] for c in b["data"]] == ["+14155550198"]
    ),
    # The sample row (pending, to client@example.com) is the one match.
    "CancelMatchingFunction": answers(200, lambda b: b["data"] == {"cancelled": 1, "matched": 1, "next_cursor": None}),
    "PutDoNotContactFunction": answers(200, lambda b: b["data"]["address"] == "jane.doe@example.com"),
    "DeleteDoNotContactFunction": answers(204, lambda b: b is None),
    "ListDoNotContactFunction": answers(200, lambda b: [e["address"] for e in b["data"]] == ["+14155550123"]),
    "ImportDoNotContactFunction": answers(201, lambda b: b["data"] == {"imported": 2}),
    # The sample bounce names the sample company: its recipient joins the list.
    "SesFeedbackFunction": lambda response: (
        (response is None and suppressed(SAMPLE["company_id"], "gone.away@example.com"))
        or pytest.fail("the bounced address was not suppressed")
    ),
}


def suppressed(company_id: str, address: str) -> bool:
    return bool(composition.do_not_contact_list().matching(company_id, address, now_utc()))


def test_every_function_has_a_sample_event_and_an_expectation(stack):
    assert sorted(EXPECTED) == FUNCTIONS
    assert [name for name in FUNCTIONS if not sample_event_path(stack, name).is_file()] == []
    assert function_ids(stack)["tick"] == "TickFunction"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_answers_its_sample_event(stack, isolated_tables, function):
    seed_the_sample_company()
    event = json.loads(sample_event_path(stack, function).read_text())

    returned, response = invoke(FunctionHost(stack), function, event)

    assert returned, response
    EXPECTED[function](response)
    if function == "TickFunction":
        assert [json.loads(body)["shards"] for body in take_dispatch_slices(stack)] == [list(range(8))]


def take_dispatch_slices(stack: Stack) -> list[str]:
    """The slices the tick queued, taken off the queue so no other test's worker dispatches them."""
    sqs = boto3.client("sqs")
    url = stack.queue_urls["DispatchQueue"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [message["Body"] for message in messages]


def test_a_handler_that_raises_answers_lambdas_error_object(stack, isolated_tables):
    returned, response = invoke(FunctionHost(stack), "AuthorizerFunction", load_event("authorizer.json"))

    assert not returned
    assert response == {"errorMessage": "Unauthorized", "errorType": "Exception"}
