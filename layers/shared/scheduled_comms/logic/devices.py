"""A person's push devices: registering (one device per token), listing, deleting."""

from __future__ import annotations

from datetime import datetime

from scheduled_comms.errors import Conflict, FieldError, NotFound, ValidationFailed
from scheduled_comms.logic.auth import require_scopes
from scheduled_comms.models.domain import Caller, Scope
from scheduled_comms.models.messages import Brand
from scheduled_comms.models.push import Device, DeviceOut, Platform, RegisterDeviceRequest, device_id_of
from scheduled_comms.ports import DeviceStore, MessageCatalog, PushEndpoints


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field} {message}", [FieldError(field, message)])


def _brand_for(catalog: MessageCatalog, company_id: str, brand_id: str | None, platform: Platform) -> Brand:
    """The brand whose application the device uses: the one named, else the only one with an application
    for the platform."""
    if brand_id is not None:
        brand = catalog.brand(company_id, brand_id)
        if brand is None:
            raise _refuse("brand_id", "is not a brand of this company (PUT /v1/brands/{brand_id})")
        if brand.push_apps is None or brand.push_apps.arn(platform) is None:
            raise _refuse("brand_id", f"has no push application for {platform.value} (its push_apps)")
        return brand
    candidates = [
        brand
        for brand in catalog.brands(company_id)
        if brand.push_apps is not None and brand.push_apps.arn(platform) is not None
    ]
    if len(candidates) != 1:
        found = "no brand has" if not candidates else "several brands have"
        raise _refuse("brand_id", f"is required: {found} a push application for {platform.value}")
    return candidates[0]


def register_device(
    devices: DeviceStore,
    catalog: MessageCatalog,
    endpoints: PushEndpoints,
    caller: Caller,
    person_id: str,
    request: RegisterDeviceRequest,
    now: datetime,
) -> tuple[DeviceOut, bool]:
    """Register the person's device, creating (or reusing) its SNS endpoint; returns it and whether it is new.

    The same token again is the same device (re-enabled, its brand updated). A token registered for another
    person of the company moves to this one: a device has one owner, so a push never reaches a former user."""
    require_scopes(caller, Scope.DEVICES_WRITE)
    brand = _brand_for(catalog, caller.company_id, request.brand_id, request.platform)
    application_arn = brand.push_apps.arn(request.platform) if brand.push_apps else None
    assert application_arn is not None  # _brand_for checked it
    device_id = device_id_of(caller.company_id, request.platform, request.token)
    endpoint_arn = endpoints.ensure_endpoint(application_arn, request.token, device_id)
    previous_owner = devices.owner(caller.company_id, device_id)
    existing = devices.device(caller.company_id, person_id, device_id) if previous_owner == person_id else None
    device = Device(
        id=device_id,
        person_id=person_id,
        platform=request.platform,
        brand_id=brand.id,
        token=request.token,
        endpoint_arn=endpoint_arn,
        enabled=True,
        disabled_at=None,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    if not devices.save(caller.company_id, device, previous_owner):
        raise Conflict("Another registration of this token was stored first; send yours again")
    return DeviceOut.of(device), existing is None


def list_devices(devices: DeviceStore, caller: Caller, person_id: str) -> list[DeviceOut]:
    require_scopes(caller, Scope.DEVICES_READ)
    return [DeviceOut.of(device) for device in sorted(devices.devices(caller.company_id, person_id), key=_newest)]


def _newest(device: Device) -> tuple[float, str]:
    return (-device.created_at.timestamp(), device.id)


def delete_device(
    devices: DeviceStore, endpoints: PushEndpoints, caller: Caller, person_id: str, device_id: str
) -> None:
    """Forget the device and delete its SNS endpoint; another person's (or company's) device is a 404."""
    require_scopes(caller, Scope.DEVICES_WRITE)
    device = devices.device(caller.company_id, person_id, device_id)
    if device is None:
        raise NotFound("No device with this id for this person")
    endpoints.delete_endpoint(device.endpoint_arn)
    if not devices.delete(caller.company_id, person_id, device_id):
        raise NotFound("No device with this id for this person")
