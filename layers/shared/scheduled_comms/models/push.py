"""Push: a brand's SNS platform applications, a person's devices, and what each device's endpoint answered.

A device is the pair (platform, token) an app got from APNs or FCM, registered for a person. Its id is
derived from the company, platform and token, so registering the same token again is the same device.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints
from scheduled_comms.models.base import Model
from scheduled_comms.models.values import UtcInstant


class Platform(StrEnum):
    APNS = "apns"
    APNS_SANDBOX = "apns_sandbox"
    FCM = "fcm"

    @property
    def sns_platform(self) -> str:
        """SNS's name of the platform (FCM is still ``GCM`` in its ARNs and message structure)."""
        return _SNS_PLATFORM[self]


_SNS_PLATFORM = {Platform.APNS: "APNS", Platform.APNS_SANDBOX: "APNS_SANDBOX", Platform.FCM: "GCM"}

PlatformApplicationArn = Annotated[
    str,
    StringConstraints(
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:app/(APNS|APNS_SANDBOX|GCM)/[A-Za-z0-9_.-]{1,256}$"
    ),
    Field(description="The ARN of an SNS platform application (arn:aws:sns:<region>:<account>:app/<PLATFORM>/<name>)"),
]
# What ``PushEndpoints.publish`` fails with when SNS reports the endpoint disabled.
ENDPOINT_DISABLED = "endpoint_disabled"
DeviceId = Annotated[str, StringConstraints(pattern=r"^dv_[0-9a-f]{24}$")]
DEVICE_ID_PATTERN = r"^dv_[0-9a-f]{24}$"
# APNs tokens are 64 hex characters, FCM's about 160 printable ones; both stay well under this.
DeviceToken = Annotated[str, StringConstraints(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")]


class PushApps(Model):
    """A brand's SNS platform application per platform; pushes of the brand go out through them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apns: PlatformApplicationArn | None = None
    apns_sandbox: PlatformApplicationArn | None = None
    fcm: PlatformApplicationArn | None = None

    def arn(self, platform: Platform) -> str | None:
        value: str | None = getattr(self, platform.value)
        return value

    def platforms(self) -> list[Platform]:
        return [platform for platform in Platform if self.arn(platform)]


def device_id_of(company_id: str, platform: Platform, token: str) -> str:
    """A device's id: the same company, platform and token are always the same device."""
    digest = hashlib.sha256("\x1f".join((company_id, platform.value, token)).encode()).hexdigest()
    return f"dv_{digest[:24]}"


def token_hint(token: str) -> str:
    """What a device shows of its token: the last characters, enough to tell devices apart."""
    return f"…{token[-6:]}"


class RegisterDeviceRequest(Model):
    """The body of ``POST /v1/people/{person_id}/devices``."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    token: DeviceToken = Field(description="the device token APNs or FCM gave the app")
    brand_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")] | None = Field(
        default=None,
        description="the brand whose platform application the device uses; omitted, the company's only brand with "
        "an application for the platform",
    )


class Device(Model):
    """A registered device, as stored: its SNS endpoint, and whether SNS still delivers to it."""

    model_config = ConfigDict(frozen=True)

    id: str
    person_id: str
    platform: Platform
    brand_id: str
    token: str
    endpoint_arn: str
    enabled: bool = True
    disabled_at: UtcInstant | None = None
    created_at: UtcInstant
    updated_at: UtcInstant


class DeviceOut(Model):
    """A device as the API answers it (the token is only hinted at)."""

    id: str
    person_id: str
    platform: Platform
    brand_id: str
    token_hint: str
    enabled: bool = Field(description="false once SNS reported the endpoint disabled; registering again re-enables")
    disabled_at: UtcInstant | None
    created_at: UtcInstant
    updated_at: UtcInstant

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.id,
            person_id=device.person_id,
            platform=device.platform,
            brand_id=device.brand_id,
            token_hint=token_hint(device.token),
            enabled=device.enabled,
            disabled_at=device.disabled_at,
            created_at=device.created_at,
            updated_at=device.updated_at,
        )


class DeviceList(Model):
    data: list[DeviceOut]


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    DISABLED = "disabled"
    FAILED = "failed"
    RETRY = "retry"


class PushDelivery(Model):
    """What one device's endpoint answered to one push."""

    device_id: str
    platform: Platform
    outcome: DeliveryOutcome
    provider_message_id: str | None = None
    error: str | None = None
