"""Request models: the channel union, follow-up cadence rules, unknown fields."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from scheduled_comms.errors import field_errors
from scheduled_comms.models.api import CreateCommunicationRequest, FollowUps, UpdateCommunicationRequest

CONFIG = "9d1c5a7e-2f3b-4c6d-8e9f-0a1b2c3d4e5f"
adapter = TypeAdapter(CreateCommunicationRequest)


def follow_ups(**overrides):
    data = {
        "max_attempts": 3,
        "follow_up_delays": [2, 24],
        "voice_agent_outbound_config_id": CONFIG,
        "to_number": "+61412345678",
    }
    data.update(overrides)
    return data


def test_follow_up_delays_must_number_max_attempts_minus_one():
    assert FollowUps.model_validate(follow_ups()).follow_up_delays == [2.0, 24.0]
    assert FollowUps.model_validate(follow_ups(max_attempts=1, follow_up_delays=[])).max_attempts == 1
    for delays in ([2], [2, 24, 48], []):
        with pytest.raises(ValidationError, match="exactly max_attempts - 1"):
            FollowUps.model_validate(follow_ups(follow_up_delays=delays))


@pytest.mark.parametrize("attempts", [True, "3", 3.0, 0, 11])
def test_max_attempts_is_a_strict_integer_in_range(attempts):
    with pytest.raises(ValidationError):
        FollowUps.model_validate(follow_ups(max_attempts=attempts, follow_up_delays=[1, 1]))


def test_channel_selects_the_payload_model():
    request = adapter.validate_python(
        {
            "channel": "sms",
            "scheduled_for": "2030-01-01T00:00:00Z",
            "payload": {"phone_number_id": CONFIG, "to_number": "+14155550123", "message_body": "hi"},
        }
    )
    assert type(request).__name__ == "CreateSms"
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(
            {
                "channel": "sms",
                "scheduled_for": "2030-01-01T00:00:00Z",
                "payload": {"to_email": "a@example.com", "subject": "s", "html_body": "b"},
            }
        )
    fields = {d.field for d in field_errors(info.value.errors())}
    assert "sms.payload.phone_number_id" in fields
    assert "sms.payload.to_email" in fields


def test_patch_model_accepts_only_the_editable_fields():
    assert UpdateCommunicationRequest.model_validate({"timezone": None}).model_fields_set == {"timezone"}
    with pytest.raises(ValidationError) as info:
        UpdateCommunicationRequest.model_validate({"status": "pending", "deal_id": CONFIG})
    details = field_errors(info.value.errors())
    assert [(d.field, d.message) for d in details] == [
        ("status", "is not a recognised field here"),
        ("deal_id", "is not a recognised field here"),
    ]


def test_field_paths_use_dots_and_indexes():
    errors = [{"loc": ("payload", "cc", 2), "msg": "Value error, is not a valid email address", "type": "value_error"}]
    assert [(d.field, d.message) for d in field_errors(errors)] == [("payload.cc[2]", "is not a valid email address")]
