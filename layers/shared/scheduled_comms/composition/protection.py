"""Recipient protection: the do-not-contact list (its routes, the SES feedback, the dispatcher's check)."""

from __future__ import annotations

from scheduled_comms.adapters.dynamodb.protection import DynamoDoNotContactList
from scheduled_comms.composition import component
from scheduled_comms.settings import get_settings


@component
def do_not_contact_list() -> DynamoDoNotContactList:
    return DynamoDoNotContactList(get_settings().communications_table)
