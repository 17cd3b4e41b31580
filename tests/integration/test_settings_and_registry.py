"""Business-hours settings, sender numbers and voice-agent configs: validation, scopes, no secrets out."""

from __future__ import annotations

import json
import uuid
import zlib

import boto3
import pytest

from tests.conftest import Company


def test_business_hours_default_then_replace(api, make_company):
    company = make_company(registered=False)

    default = api.request("GET", "/v1/settings/business-hours", company)
    hours = {
        "timezone": "Australia/Sydney",
        "windows": {
            "mon": [{"start": "08:30", "end": "12:00"}, {"start": "13:00", "end": "17:30"}],
            "sat": [{"start": "10:00", "end": "14:00"}],
        },
    }
    replaced = api.request("PUT", "/v1/settings/business-hours", company, hours)
    again = api.request("GET", "/v1/settings/business-hours", company)

    assert default.status == 200
    assert default.json()["data"]["timezone"] == "UTC"
    assert set(default.json()["data"]["windows"]) == {"mon", "tue", "wed", "thu", "fri"}
    assert default.json()["data"]["windows"]["mon"] == [{"start": "09:00", "end": "17:00"}]
    assert replaced.status == 200
    assert again.json()["data"] == replaced.json()["data"] == hours


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Nowhere/Town"}, "timezone"),
        ({"windows": {}}, "windows"),
        ({"windows": {"funday": [{"start": "09:00", "end": "10:00"}]}}, "windows.funday"),
        ({"windows": {"mon": [{"start": "17:00", "end": "09:00"}]}}, "windows.mon[0]"),
        ({"windows": {"mon": [{"start": "9am", "end": "10:00"}]}}, "windows.mon[0].start"),
        ({"windows": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}}, "windows"),
        ({"hours": 5}, "hours"),
    ],
)
def test_invalid_business_hours_are_422(api, make_company, body, field):
    company = make_company(registered=False)

    reply = api.request("PUT", "/v1/settings/business-hours", company, body)

    assert reply.status == 422, reply.text
    assert any(d["field"].startswith(field) for d in reply.json()["error"]["details"]), reply.json()
    assert api.request("GET", "/v1/settings/business-hours", company).json()["data"]["timezone"] == "UTC"


@pytest.mark.parametrize("raw", ['[{}, [null], {"": ""}]', '[{"timezone": "Asia/Tokyo"}]', "[]", "null", '"UTC"'])
def test_business_hours_that_are_not_an_object_are_422_and_change_nothing(api, make_company, raw):
    company = make_company()

    reply = api.request(
        "PUT", "/v1/settings/business-hours", company, body=raw, headers={"Content-Type": "application/json"}
    )

    assert reply.status == 422, reply.text
    assert reply.json()["error"]["details"][0]["field"] == "body"
    assert api.request("GET", "/v1/settings/business-hours", company).json()["data"]["timezone"] == "UTC"


def test_settings_are_per_company(api, make_company):
    first, second = make_company(registered=False), make_company(registered=False)
    api.request("PUT", "/v1/settings/business-hours", first, {"timezone": "Asia/Tokyo"})

    assert api.request("GET", "/v1/settings/business-hours", second).json()["data"]["timezone"] == "UTC"


def test_business_hours_scopes(api, make_company):
    reader = make_company(scopes=("dispatcher:read",))
    writer = make_company(scopes=("dispatcher:write",))

    assert api.request("PUT", "/v1/settings/business-hours", reader, {"timezone": "UTC"}).status == 403
    assert api.request("GET", "/v1/settings/business-hours", writer).status == 403


def test_phone_numbers_register_and_list(api, make_company):
    company, other = make_company(registered=False), make_company(registered=False)

    created = api.request("POST", "/v1/phone-numbers", company, {"number": "+14155550101", "label": "support"})
    bad = api.request("POST", "/v1/phone-numbers", company, {"number": "0415"})

    assert created.status == 201
    assert bad.status == 422 and bad.json()["error"]["details"][0]["field"] == "number"
    listed = api.request("GET", "/v1/phone-numbers", company).json()["data"]
    assert [n["id"] for n in listed] == [created.json()["data"]["id"]]
    assert api.request("GET", "/v1/phone-numbers", other).json()["data"] == []


def voice_config(**overrides):
    return {
        "name": "Agent",
        "endpoint_url": "https://voice.example.com/calls",
        "agent_id": "a-1",
        "api_key": "provider-key-0123456789",
        **overrides,
    }


def test_voice_configs_keep_credentials_in_secrets_manager_and_never_return_them(api, make_company):
    company = make_company(registered=False)

    created = api.request("POST", "/v1/voice-agent-configs", company, voice_config())
    listed = api.request("GET", "/v1/voice-agent-configs", company)

    assert created.status == 201, created.text
    data = created.json()["data"]
    assert len(data["webhook_secret"]) >= 32
    assert "api_key" not in data
    assert "provider-key" not in listed.text and data["webhook_secret"] not in listed.text
    assert [c["id"] for c in listed.json()["data"]] == [data["id"]]
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=f"{__import__('os').environ['SECRET_NAME_PREFIX']}/{company.id}/voice-agent-configs/{data['id']}"
    )
    assert json.loads(secret["SecretString"])["api_key"] == "provider-key-0123456789"
    items = boto3.client("dynamodb").scan(TableName=__import__("os").environ["COMMUNICATIONS_TABLE"])["Items"]
    # Packed payloads are unpacked, so nothing hides in a compressed attribute either.
    assert "provider-key-0123456789" not in json.dumps(items, default=lambda packed: zlib.decompress(packed).decode())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"endpoint_url": "ftp://voice.example.com"}, "endpoint_url"),
        ({"endpoint_url": "http://voice.example.com/calls"}, "endpoint_url"),
        ({"endpoint_url": "https://169.254.169.254/latest"}, "endpoint_url"),
        ({"endpoint_url": "https://10.0.0.8/calls"}, "endpoint_url"),
        ({"api_key": "short"}, "api_key"),
        ({"provider": "carrier-pigeon"}, "provider"),
        ({"name": ""}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_voice_configs_are_422(api, make_company, overrides, field):
    company = make_company(registered=False)

    reply = api.request("POST", "/v1/voice-agent-configs", company, voice_config(**overrides))

    assert reply.status == 422, reply.text
    assert field in [d["field"] for d in reply.json()["error"]["details"]]
    assert api.request("GET", "/v1/voice-agent-configs", company).json()["data"] == []


@pytest.mark.parametrize(
    ("path", "body", "scopes"),
    [
        ("/v1/voice-agent-configs", voice_config(), ("dispatcher:write",)),
        ("/v1/phone-numbers", {"number": "+14155550101"}, ("dispatcher:write",)),
    ],
)
def test_registration_needs_the_channel_scope(api, make_company, path, body, scopes):
    company: Company = make_company(scopes=scopes)

    assert api.request("POST", path, company, body).status == 403


def test_the_ticks_directory_keeps_settings_for_its_cache_time_and_the_apis_reads_its_writes(api, make_company):
    from scheduled_comms import composition
    from scheduled_comms.adapters.directory import DynamoDirectory
    from scheduled_comms.settings import get_settings

    company = make_company(registered=False)
    clock = [0.0]
    cached = DynamoDirectory(get_settings().communications_table, cache_seconds=30, clock=lambda: clock[0])
    sydney = {"timezone": "Australia/Sydney", "windows": {"mon": [{"start": "08:00", "end": "12:00"}]}}
    paris = {"timezone": "Europe/Paris", "windows": {"tue": [{"start": "09:00", "end": "11:00"}]}}

    assert api.request("PUT", "/v1/settings/business-hours", company, sydney).status == 200
    first = cached.business_hours(company.id)
    assert api.request("PUT", "/v1/settings/business-hours", company, paris).status == 200
    within = cached.business_hours(company.id)
    clock[0] = 31
    after = cached.business_hours(company.id)

    assert first.timezone == within.timezone == "Australia/Sydney"
    assert after.timezone == "Europe/Paris"
    assert composition.directory().business_hours(company.id).timezone == "Europe/Paris", "no cache for the API"
    assert api.request("GET", "/v1/settings/business-hours", company).json()["data"] == paris


def test_each_tick_reads_settings_afresh(api, make_company):
    from scheduled_comms import composition

    company = make_company(registered=False)
    sydney = {"timezone": "Australia/Sydney", "windows": {"mon": [{"start": "08:00", "end": "12:00"}]}}
    paris = {"timezone": "Europe/Paris", "windows": {"tue": [{"start": "09:00", "end": "11:00"}]}}
    assert api.request("PUT", "/v1/settings/business-hours", company, sydney).status == 200
    first_tick = composition.dispatcher()
    assert composition.dispatch_directory().business_hours(company.id).timezone == "Australia/Sydney"

    assert api.request("PUT", "/v1/settings/business-hours", company, paris).status == 200
    stale = composition.dispatch_directory().business_hours(company.id).timezone
    next_tick = composition.dispatcher()
    fresh = composition.dispatch_directory().business_hours(company.id).timezone

    assert first_tick is not next_tick
    assert (stale, fresh) == ("Australia/Sydney", "Europe/Paris")


def test_a_secret_is_read_again_only_once_its_cache_time_has_passed(stack):
    from scheduled_comms.adapters.secrets import SecretReader

    secrets, name = boto3.client("secretsmanager"), f"cache-test/{uuid.uuid4()}"
    secrets.create_secret(Name=name, SecretString="first")
    clock = [1000.0]
    reader = SecretReader(60, monotonic=lambda: clock[0])

    first = reader.read_bytes(name)
    secrets.put_secret_value(SecretId=name, SecretString="second")
    clock[0] += 59
    cached = reader.read_bytes(name)
    clock[0] += 2
    renewed = reader.read_bytes(name)

    assert (first, cached, renewed) == (b"first", b"first", b"second")


def test_a_new_rows_defaults_are_kept_a_while_and_dropped_by_a_change_made_here(stack, make_company):
    from datetime import UTC, datetime

    from scheduled_comms.adapters.directory import DynamoDirectory
    from scheduled_comms.models.domain import Delivery
    from scheduled_comms.settings import get_settings

    company = make_company(registered=False)
    clock = [0.0]
    here = DynamoDirectory(get_settings().communications_table, defaults_cache_seconds=10, clock=lambda: clock[0])
    elsewhere = DynamoDirectory(get_settings().communications_table)
    now = datetime.now(UTC)

    first = here.default_delivery(company.id)
    elsewhere.put_default_delivery(company.id, Delivery.AT_MOST_ONCE, now)
    clock[0] += 9
    kept = here.default_delivery(company.id)
    clock[0] += 2
    renewed = here.default_delivery(company.id)
    here.put_default_delivery(company.id, Delivery.AT_LEAST_ONCE, now)
    own_change = here.default_delivery(company.id)

    assert (first, kept, renewed, own_change) == (
        Delivery.AT_LEAST_ONCE,
        Delivery.AT_LEAST_ONCE,
        Delivery.AT_MOST_ONCE,
        Delivery.AT_LEAST_ONCE,
    )
