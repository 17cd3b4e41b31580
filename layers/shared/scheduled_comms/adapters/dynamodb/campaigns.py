"""Campaigns, contact folders and their contacts on DynamoDB (key formats in ``items``)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.batch import batch_get, batch_write
from scheduled_comms.adapters.dynamodb.items import (
    CAMPAIGN_PREFIX,
    CONTACT_PREFIX,
    DAY_PREFIX,
    FOLDER_PREFIX,
    TALK_BUCKET_PREFIX,
    TALK_TOTAL,
    body_item,
    campaign_key,
    campaign_to_item,
    company_key,
    company_pk,
    condition_failed,
    contact_index_of,
    contact_key,
    contact_list_partition,
    contact_sort_key,
    contact_to_item,
    count_attribute,
    day_key,
    folder_key,
    folder_to_item,
    from_attributes,
    is_condition_failure,
    item_to_campaign,
    item_to_contact,
    item_to_folder,
    number_guard_key,
    outcome_attribute,
    plan_key,
    refund_credit,
    row_to_item,
    slots_key,
    taken_of,
    taken_to_attribute,
    talk_bucket_attribute,
    to_attributes,
)
from scheduled_comms.errors import Conflict, InsufficientCredits, InvalidState, NotFound, NumbersTaken, PlanAbandoned
from scheduled_comms.models.campaigns import (
    Campaign,
    CampaignContact,
    CampaignStats,
    CampaignStatus,
    Contact,
    ContactFolder,
    ContactSource,
    ContactStatus,
    DaySlot,
    LiveCounters,
    OutcomeKind,
    PlannedContact,
    PlanProgress,
    check_transition,
    outcome_kind,
    talk_bucket,
)
from scheduled_comms.models.domain import Communication
from scheduled_comms.models.values import format_instant, parse_instant
from scheduled_comms.observability import logger

TRANSACTION_LIMIT = 100  # items per TransactWriteItems request
# How long an upload holds the number guards it claimed before they name their contacts (well over API
# Gateway's 29 s for the request that claims them).
CLAIM_LEASE = timedelta(minutes=2)
MAX_QUERY_PAGES = 5  # pages one filtered list may read before it answers with a cursor
FILTERED_PAGE_SIZE = 100
_LAST_CONTACT = contact_sort_key(10**9 - 1)


def outcome_counters(outcome: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The ADD clauses (names, values) that count a call's outcome on its campaign's item, for the analytics."""
    kind = outcome_kind(outcome)
    names = {"#kind": outcome_attribute(kind.value)}
    values: dict[str, Any] = {}
    adds = ["#kind :one"]
    if kind is OutcomeKind.CONVERSATION:
        seconds = float(outcome.get("talk_seconds") or 0)
        names["#bucket"] = talk_bucket_attribute(talk_bucket(seconds))
        values[":talk"] = {"N": f"{seconds:g}"}
        adds += [f"{TALK_TOTAL} :talk", "#bucket :one"]
    return ", ".join(adds), names, values


def _status_of(item: dict[str, Any] | None) -> CampaignStatus | None:
    return CampaignStatus(item["status"]["S"]) if item else None


class DynamoCampaignStore:
    """``CampaignStore`` on DynamoDB."""

    def __init__(self, table_name: str, shard_count: int = 8, client: Any | None = None) -> None:
        self._table = table_name
        self._shards = shard_count
        self._client = client or aws_client("dynamodb")

    # --- writing many items ----------------------------------------------------------------------------------

    def batch_put(self, items: Sequence[dict[str, Any]]) -> int:
        """Put ``items`` with BatchWriteItem (25 a request, again for what is left unprocessed); the requests made."""
        return batch_write(self._client, self._table, [{"PutRequest": {"Item": item}} for item in items])

    def _write_contacts(
        self, partition: str, start: int, contacts: Sequence[Contact], now: datetime, guards: bool = True
    ) -> None:
        """The contacts' items, and (``guards``: a new list, which no other upload can reach yet) their numbers'."""
        items: list[dict[str, Any]] = []
        for offset, contact in enumerate(contacts):
            entry = CampaignContact(index=start + offset, contact=contact, added_at=now, updated_at=now)
            items.append(contact_to_item(partition, entry))
            if guards:
                items.append(number_guard_key(partition, contact.phone_number))
        self.batch_put(items)

    def _claim_numbers(self, partition: str, contacts: Sequence[Contact], now: datetime) -> list[dict[str, Any]]:
        """Each contact's number guard, written on condition that the list does not hold the number yet (100 a
        transaction): two uploads carrying one number never both land. ``NumbersTaken`` (the guards this call
        wrote deleted again) naming the numbers another upload holds; returns the guards written.

        A guard is leased to its upload until ``CLAIM_LEASE`` has passed, then names its contact's index
        (``_place_guards``): one whose upload died before its contact was written is dead, and taken over."""
        token = {"S": uuid.uuid4().hex}
        until = {"S": format_instant(now + CLAIM_LEASE)}
        guards = [
            {**number_guard_key(partition, contact.phone_number), "upload": token, "claimed_until": until}
            for contact in contacts
        ]
        claimed: list[dict[str, Any]] = []
        for start in range(0, len(guards), TRANSACTION_LIMIT):
            chunk = guards[start : start + TRANSACTION_LIMIT]
            steps = [
                {"Put": {"TableName": self._table, "Item": guard, "ConditionExpression": "attribute_not_exists(pk)"}}
                for guard in chunk
            ]
            for attempt in range(2):
                try:
                    self._client.transact_write_items(TransactItems=steps)
                    break
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                        self.release_numbers(claimed)
                        raise
                    reasons = exc.response.get("CancellationReasons") or []
                    refused = [
                        {"pk": guard["pk"], "sk": guard["sk"]}
                        for guard, reason in zip(chunk, reasons, strict=False)
                        if reason.get("Code") == "ConditionalCheckFailed"
                    ]
                    held = {key["sk"]["S"].partition("#")[2] for key in refused}
                    removed = self._remove_dead_guards(partition, refused, now) if refused else set()
                    if attempt == 0 and held and removed == held:
                        continue  # every guard in the way was a dead upload's: claim again
                    self.release_numbers(claimed)
                    if held - removed:
                        raise NumbersTaken(held - removed) from exc
                    raise Conflict("Another upload to this list ran at the same time; retry it") from exc
            claimed += chunk
        return claimed

    def _dead(self, partition: str, guards: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """The guards among ``guards`` whose upload died before writing their contact: past their lease, and
        naming no index or an index whose contact is not theirs. Guards of a new list's (no lease) never die."""
        stale = [g for g in guards if "claimed_until" in g and parse_instant(g["claimed_until"]["S"]) <= now]
        placed = [g for g in stale if "contact_index" in g]
        keys = [contact_key(partition, int(g["contact_index"]["N"])) for g in placed]
        contacts = batch_get(self._client, self._table, keys, consistent=True)
        written = {(item["sk"]["S"], item["phone_number"]["S"]) for item in contacts}
        return [
            g
            for g in stale
            if "contact_index" not in g
            or (contact_key(partition, int(g["contact_index"]["N"]))["sk"]["S"], g["sk"]["S"].partition("#")[2])
            not in written
        ]

    def _remove_dead_guards(self, partition: str, keys: Sequence[dict[str, Any]], now: datetime) -> set[str]:
        """Delete the dead guards among ``keys`` (each on condition that it is the one read); their numbers."""
        removed: set[str] = set()
        for guard in self._dead(partition, batch_get(self._client, self._table, keys, consistent=True), now):
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": guard["pk"], "sk": guard["sk"]},
                    ConditionExpression="upload = :upload",
                    ExpressionAttributeValues={":upload": guard["upload"]},
                )
            except ClientError as exc:
                if not is_condition_failure(exc):
                    raise
                continue
            removed.add(guard["sk"]["S"].partition("#")[2])
        return removed

    def _place_guards(self, start: int, guards: Sequence[dict[str, Any]]) -> None:
        """Each claimed guard names its contact's index, before any contact is written (see ``_claim_numbers``)."""
        self.batch_put([{**guard, "contact_index": {"N": str(start + offset)}} for offset, guard in enumerate(guards)])

    def release_numbers(self, guards: Sequence[dict[str, Any]]) -> None:
        """Delete number guards this upload wrote (it did not land)."""
        keys = [{"pk": guard["pk"], "sk": guard["sk"]} for guard in guards]
        batch_write(self._client, self._table, [{"DeleteRequest": {"Key": key}} for key in keys])

    def _known(self, partition: str, numbers: Sequence[str], now: datetime) -> set[str]:
        keys = [number_guard_key(partition, number) for number in dict.fromkeys(numbers)]
        guards = batch_get(self._client, self._table, keys)
        dead = {g["sk"]["S"] for g in self._dead(partition, guards, now)}
        return {g["sk"]["S"].partition("#")[2] for g in guards if g["sk"]["S"] not in dead}

    def _reserve_indexes(
        self, key: dict[str, Any], count: int, now: datetime, condition: str, values: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """Add ``count`` to a list's counters (a campaign's pending contacts too) on ``condition``: the first
        index reserved, and the item after the write."""
        campaign = key["sk"]["S"].startswith(CAMPAIGN_PREFIX)
        response = self._client.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="ADD next_index :n, contacts_total :n"
            + (", #pending :n" if campaign else "")
            + " SET updated_at = :now",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status", "#pending": count_attribute(ContactStatus.PENDING)}
            if campaign
            else {},
            ExpressionAttributeValues={":n": {"N": str(count)}, ":now": {"S": format_instant(now)}, **values},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        attributes = response["Attributes"]
        return int(attributes["next_index"]["N"]) - count, attributes

    def _read_list(
        self,
        partition: str,
        status: ContactStatus | None,
        limit: int,
        after_index: int | None,
        consistent: bool = False,
    ) -> tuple[list[CampaignContact], int | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": consistent,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition},
                ":first": {"S": contact_sort_key(after_index + 1) if after_index is not None else CONTACT_PREFIX},
                ":last": {"S": _LAST_CONTACT},
            },
            "Limit": max(limit + 1, FILTERED_PAGE_SIZE) if status else limit + 1,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        found, last_read = self._bounded(request, limit)
        if last_read is None:
            return [item_to_contact(item) for item in found], None
        return [item_to_contact(item) for item in found], contact_index_of(last_read)

    def _bounded(
        self, request: dict[str, Any], limit: int, skip: str | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to ``limit`` items a query finds (but the one whose sort key is ``skip``), reading at most
        ``MAX_QUERY_PAGES`` pages; and the item to go on after (None when nothing is left)."""
        found: list[dict[str, Any]] = []
        for _ in range(MAX_QUERY_PAGES):
            response = self._client.query(**request)
            for item in response.get("Items", []):
                if item["sk"]["S"] == skip:
                    continue
                if len(found) == limit:
                    return found, found[-1]
                found.append(item)
            last = response.get("LastEvaluatedKey")
            if last is None:
                return found, None
            request["ExclusiveStartKey"] = last
        return found, cast(dict[str, Any], request["ExclusiveStartKey"])

    def _company_items(
        self, company_id: str, prefix: str, limit: int, after_id: str | None, status: CampaignStatus | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A company's campaigns (or folders), newest first (their ids are UUIDv7)."""
        bound = f"{prefix}{after_id}" if after_id else f"{prefix}~"  # "~" sorts after every id's characters
        request: dict[str, Any] = {
            "TableName": self._table,
            "ScanIndexForward": False,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": company_pk(company_id)},
                ":first": {"S": prefix},
                ":last": {"S": bound},
            },
            "Limit": max(limit + 2, FILTERED_PAGE_SIZE) if status else limit + 2,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        items, last_read = self._bounded(request, limit, skip=bound)
        return items, last_read["sk"]["S"].removeprefix(prefix) if last_read else None

    # --- campaigns -------------------------------------------------------------------------------------------

    def create(self, campaign: Campaign, contacts: Sequence[Contact]) -> Campaign:
        partition = contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)
        self._write_contacts(partition, 0, contacts, campaign.created_at)
        stored = campaign.model_copy(
            update={"contacts_total": len(contacts), "counts": {ContactStatus.PENDING: len(contacts)}}
        )
        self._client.put_item(
            TableName=self._table, Item=campaign_to_item(stored), ConditionExpression="attribute_not_exists(pk)"
        )
        return stored

    def get(self, company_id: str, campaign_id: str, consistent: bool = False) -> Campaign | None:
        item = self._client.get_item(
            TableName=self._table, Key=campaign_key(company_id, campaign_id), ConsistentRead=consistent
        ).get("Item")
        return item_to_campaign(item) if item else None

    def live(self, campaign: Campaign, now: datetime) -> LiveCounters:
        """Today's calls (the day item), the calls holding a slot (the slots item) and the earliest slot among the
        first contacts still scheduled (a bounded read: contacts are planned in the order they were added)."""
        partition = contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)
        today = now.astimezone(ZoneInfo(campaign.settings.timezone)).date()
        day = self._client.get_item(TableName=self._table, Key=day_key(partition, today)).get("Item") or {}
        slots = self._client.get_item(TableName=self._table, Key=slots_key(partition)).get("Item") or {}
        held = [parse_instant(value["S"]) for value in slots.get("slots", {}).get("M", {}).values()]
        scheduled, _ = self._read_list(partition, ContactStatus.SCHEDULED, FILTERED_PAGE_SIZE, None)
        return LiveCounters(
            calls_placed_today=int(day.get("placed", {}).get("N", 0)),
            calls_in_flight=sum(until > now for until in held),
            next_due_at=min((entry.scheduled_at for entry in scheduled if entry.scheduled_at), default=None),
        )

    def stats(self, campaign: Campaign) -> CampaignStats:
        """The outcome counters on the campaign's item, and the calls placed per local day (its day items)."""
        item = (
            self._client.get_item(
                TableName=self._table, Key=campaign_key(campaign.company_id, campaign.id), ConsistentRead=True
            ).get("Item")
            or {}
        )
        outcomes = {kind: int(item.get(outcome_attribute(kind.value), {}).get("N", 0)) for kind in OutcomeKind}
        histogram = {
            int(name.removeprefix(TALK_BUCKET_PREFIX)): int(value["N"])
            for name, value in item.items()
            if name.startswith(TALK_BUCKET_PREFIX)
        }
        partition = contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :day)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":day": {"S": DAY_PREFIX}},
        }
        days, _ = self._bounded(request, MAX_QUERY_PAGES * 1000)  # one item per local day with calls
        return CampaignStats(
            outcomes=outcomes,
            talk_seconds_total=float(item.get(TALK_TOTAL, {}).get("N", 0)),
            talk_histogram=histogram,
            calls_per_day={
                date.fromisoformat(day["sk"]["S"].removeprefix(DAY_PREFIX)): int(day["placed"]["N"]) for day in days
            },
        )

    def list_campaigns(
        self, company_id: str, status: CampaignStatus | None, limit: int, after_id: str | None
    ) -> tuple[list[Campaign], str | None]:
        items, next_after = self._company_items(company_id, CAMPAIGN_PREFIX, limit, after_id, status)
        return [item_to_campaign(item) for item in items], next_after

    def _refused(self, exc: ClientError, campaign: Campaign, target: CampaignStatus | None) -> Exception:
        """The error a refused conditional write of the campaign stands for."""
        old = cast(dict[str, Any], exc.response).get("Item")
        current = _status_of(old)
        if current is None:
            return NotFound("No batch call with this id")
        if target is not None:
            check_transition(current, target)  # raises InvalidState naming the status it is in
            return Conflict("The batch call changed while the request ran; retry it")
        return InvalidState(f"the campaign is {current.value}; it cannot be changed now")

    def redistribute(self, campaign: Campaign, changes: dict[str, Any], now: datetime) -> Campaign:
        if campaign.status is not CampaignStatus.SCHEDULING:
            check_transition(campaign.status, CampaignStatus.SCHEDULING)
        try:
            return self.update(
                campaign,
                {**changes, "status": CampaignStatus.SCHEDULING.value},
                frozenset({campaign.status}),
                now,
                new_plan=True,
            )
        except InvalidState:
            stored = self.get(campaign.company_id, campaign.id, consistent=True)
            if stored is None:
                raise NotFound("No batch call with this id") from None
            if stored.status is not CampaignStatus.SCHEDULING:
                check_transition(stored.status, CampaignStatus.SCHEDULING)
            raise Conflict("The batch call changed while the request ran; retry it") from None

    def update(
        self,
        campaign: Campaign,
        changes: dict[str, Any],
        allowed: frozenset[CampaignStatus],
        now: datetime,
        new_plan: bool = False,
    ) -> Campaign:
        values = {**changes, "updated_at": format_instant(now)}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
        attributes = to_attributes({f":f{i}": value for i, value in enumerate(values.values())})
        if new_plan:  # a new plan epoch: the planner the write's stream record invokes starts it
            expression += " ADD plan_epoch :one"
            attributes[":one"] = {"N": "1"}
        statuses = sorted(allowed)
        condition = "#status IN (" + ", ".join(f":s{i}" for i in range(len(statuses))) + ")"
        attributes.update({f":s{i}": {"S": status.value} for i, status in enumerate(statuses)})
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=campaign_key(campaign.company_id, campaign.id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, "#status": "status"},
                ExpressionAttributeValues=attributes,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            raise self._refused(exc, campaign, None) from exc
        return item_to_campaign(response["Attributes"])

    def set_status(self, campaign: Campaign, target: CampaignStatus, now: datetime, plan: bool = False) -> Campaign:
        check_transition(campaign.status, target)
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=campaign_key(campaign.company_id, campaign.id),
                UpdateExpression="SET #status = :target, updated_at = :now" + (" ADD plan_epoch :one" if plan else ""),
                ConditionExpression="#status = :current",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":target": {"S": target.value},
                    ":current": {"S": campaign.status.value},
                    ":now": {"S": format_instant(now)},
                    **({":one": {"N": "1"}} if plan else {}),
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            raise self._refused(exc, campaign, target) from exc
        return item_to_campaign(response["Attributes"])

    def _transact(self, campaign: Campaign, target: CampaignStatus, steps: list[dict[str, Any]]) -> None:
        """A transaction whose last step is the campaign's conditional update; its refusals as domain errors."""
        try:
            self._client.transact_write_items(TransactItems=steps)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if reasons[-1] == "ConditionalCheckFailed":
                stored = self.get(campaign.company_id, campaign.id, consistent=True)
                if stored is None:
                    raise NotFound("No batch call with this id") from exc
                check_transition(stored.status, target)
                raise Conflict("The batch call changed while the request ran; retry it") from exc
            if "ConditionalCheckFailed" in reasons:
                raise InsufficientCredits(
                    "Not enough credits: scheduling a batch call reserves one credit per contact"
                ) from exc
            if "TransactionConflict" in reasons:
                raise Conflict("A concurrent request touched this batch call; retry it") from exc
            raise

    def _campaign_step(
        self, campaign: Campaign, target: CampaignStatus, now: datetime, extra: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": campaign_key(campaign.company_id, campaign.id),
                "UpdateExpression": f"SET #status = :target, updated_at = :now{extra}",
                "ConditionExpression": "#status = :current AND contacts_dialled = :dialled",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":target": {"S": target.value},
                    ":current": {"S": campaign.status.value},
                    ":dialled": {"N": str(campaign.contacts_dialled)},
                    ":now": {"S": format_instant(now)},
                    **values,
                },
            }
        }

    def schedule(self, campaign: Campaign, credits: int, now: datetime) -> Campaign:
        target = check_transition(campaign.status, CampaignStatus.SCHEDULING)
        spend = {
            "Update": {
                "TableName": self._table,
                "Key": company_key(campaign.company_id),
                "UpdateExpression": "SET credits = credits - :n, updated_at = :now",
                "ConditionExpression": "credits >= :n",
                "ExpressionAttributeValues": {":n": {"N": str(credits)}, ":now": {"S": format_instant(now)}},
            }
        }
        reserve = self._campaign_step(
            campaign,
            target,
            now,
            ", credits_reserved = credits_reserved + :n ADD plan_epoch :one",
            {":n": {"N": str(credits)}, ":one": {"N": "1"}},
        )
        self._transact(campaign, target, [spend, reserve])
        return cast(Campaign, self.get(campaign.company_id, campaign.id, consistent=True))

    def cancel(self, campaign: Campaign, now: datetime) -> Campaign:
        target = check_transition(campaign.status, CampaignStatus.CANCELLED)
        refund = campaign.credits_reserved - campaign.contacts_dialled - campaign.credits_returned
        steps: list[dict[str, Any]] = []
        if refund > 0:
            steps.append({"Update": refund_credit(self._table, campaign.company_id, now, refund)})
        # A new plan epoch: a planner at work lets go, and the wind-down (``logic.campaigns.scheduling``) starts
        # its walk over the contacts from the first.
        steps.append(
            self._campaign_step(
                campaign,
                target,
                now,
                ", credits_returned = credits_returned + :refund ADD plan_epoch :one",
                {":refund": {"N": str(refund)}, ":one": {"N": "1"}},
            )
        )
        self._transact(campaign, target, steps)
        return cast(Campaign, self.get(campaign.company_id, campaign.id, consistent=True))

    def known_numbers(self, company_id: str, campaign_id: str, numbers: Sequence[str], now: datetime) -> set[str]:
        return self._known(contact_list_partition(CAMPAIGN_PREFIX, company_id, campaign_id), numbers, now)

    def add_contacts(self, campaign: Campaign, contacts: Sequence[Contact], now: datetime) -> Campaign:
        partition = contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)
        guards = self._claim_numbers(partition, contacts, now)
        try:
            start, item = self._reserve_indexes(
                campaign_key(campaign.company_id, campaign.id),
                len(contacts),
                now,
                "#status = :draft",
                {":draft": {"S": CampaignStatus.DRAFT.value}},
            )
        except ClientError as exc:
            self.release_numbers(guards)
            if not is_condition_failure(exc):
                raise
            raise self._refused(exc, campaign, None) from exc
        self._place_guards(start, guards)
        self._write_contacts(partition, start, contacts, now, guards=False)
        return item_to_campaign(item)

    def contacts(
        self, company_id: str, campaign_id: str, status: ContactStatus | None, limit: int, after_index: int | None
    ) -> tuple[list[CampaignContact], int | None]:
        return self._read_list(
            contact_list_partition(CAMPAIGN_PREFIX, company_id, campaign_id), status, limit, after_index
        )

    def all_contacts(
        self, partition: str, after_index: int | None = None, consistent: bool = False
    ) -> Iterator[CampaignContact]:
        """Every contact of a list from ``after_index`` on, in order, a page at a time (the planner's read)."""
        while True:
            page, after_index = self._read_list(partition, None, 1000, after_index, consistent)
            yield from page
            if after_index is None:
                return

    def complete(self, campaign: Campaign, now: datetime) -> bool:
        """Scheduled or active -> completed (every contact is terminal, and terminal contacts stay so), the credits
        of contacts never dialled (kept from their callee, cancelled, failed before a call) given back in the
        same transaction; False if it is neither."""
        refund = campaign.credits_reserved - campaign.contacts_dialled - campaign.credits_returned
        steps: list[dict[str, Any]] = []
        if refund > 0:
            steps.append({"Update": refund_credit(self._table, campaign.company_id, now, refund)})
        steps.append(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": campaign_key(campaign.company_id, campaign.id),
                    "UpdateExpression": "SET #status = :completed, updated_at = :now, "
                    "credits_returned = credits_returned + :refund",
                    # The counts the refund was worked out from: a stale read completes nothing.
                    "ConditionExpression": "#status IN (:active, :scheduled) AND contacts_dialled = :dialled "
                    "AND credits_returned = :returned",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":completed": {"S": CampaignStatus.COMPLETED.value},
                        ":active": {"S": CampaignStatus.ACTIVE.value},
                        ":scheduled": {"S": CampaignStatus.SCHEDULED.value},
                        ":now": {"S": format_instant(now)},
                        ":refund": {"N": str(max(refund, 0))},
                        ":dialled": {"N": str(campaign.contacts_dialled)},
                        ":returned": {"N": str(campaign.credits_returned)},
                    },
                }
            }
        )
        try:
            self._client.transact_write_items(TransactItems=steps)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # --- contact folders -------------------------------------------------------------------------------------

    def create_folder(self, folder: ContactFolder, contacts: Sequence[Contact]) -> ContactFolder:
        partition = contact_list_partition(FOLDER_PREFIX, folder.company_id, folder.id)
        self._write_contacts(partition, 0, contacts, folder.created_at)
        stored = folder.model_copy(update={"contacts_total": len(contacts)})
        self._client.put_item(
            TableName=self._table, Item=folder_to_item(stored), ConditionExpression="attribute_not_exists(pk)"
        )
        return stored

    def get_folder(self, company_id: str, folder_id: str) -> ContactFolder | None:
        item = self._client.get_item(TableName=self._table, Key=folder_key(company_id, folder_id)).get("Item")
        return item_to_folder(item) if item else None

    def list_folders(self, company_id: str, limit: int, after_id: str | None) -> tuple[list[ContactFolder], str | None]:
        items, next_after = self._company_items(company_id, FOLDER_PREFIX, limit, after_id)
        return [item_to_folder(item) for item in items], next_after

    def known_folder_numbers(self, company_id: str, folder_id: str, numbers: Sequence[str], now: datetime) -> set[str]:
        return self._known(contact_list_partition(FOLDER_PREFIX, company_id, folder_id), numbers, now)

    def add_folder_contacts(self, folder: ContactFolder, contacts: Sequence[Contact], now: datetime) -> ContactFolder:
        partition = contact_list_partition(FOLDER_PREFIX, folder.company_id, folder.id)
        guards = self._claim_numbers(partition, contacts, now)
        try:
            start, item = self._reserve_indexes(
                folder_key(folder.company_id, folder.id), len(contacts), now, "attribute_exists(pk)", {}
            )
        except ClientError as exc:
            self.release_numbers(guards)
            if not is_condition_failure(exc):
                raise
            raise NotFound("No contact folder with this id") from exc
        self._place_guards(start, guards)
        self._write_contacts(partition, start, contacts, now, guards=False)
        return item_to_folder(item)

    def folder_contacts(
        self, company_id: str, folder_id: str, limit: int, after_index: int | None
    ) -> tuple[list[CampaignContact], int | None]:
        return self._read_list(contact_list_partition(FOLDER_PREFIX, company_id, folder_id), None, limit, after_index)


class DynamoCampaignCallStore(DynamoCampaignStore):
    """``CampaignCallStore``: call slots, and what a call does to its contact and campaign."""

    SLOT_ATTEMPTS = 6

    def take_slot(
        self,
        row: Communication,
        contact_index: int,
        campaign_id: str,
        limit: int,
        now: datetime,
        expires: datetime,
        local_date: date,
    ) -> bool:
        """One of the campaign's ``limit`` slots for ``row``'s call until ``expires`` (slots past their expiry are
        let go first), the campaign made active and, at the contact's first call, the contact in progress and
        its credit spent (``contacts_dialled``), in one transaction; False when every slot is held (or the
        campaign stopped being scheduled or active). Optimistic: a write that lost to another tick's reads again."""
        partition = contact_list_partition(CAMPAIGN_PREFIX, row.company_id, campaign_id)
        key = slots_key(partition)
        for _ in range(self.SLOT_ATTEMPTS):
            stored = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item") or {}
            slots = {name: parse_instant(value["S"]) for name, value in stored.get("slots", {}).get("M", {}).items()}
            if row.id in slots and slots[row.id] > now:
                return True  # a retry of a call that holds its slot
            expired = [name for name, until in slots.items() if until <= now]
            if len(slots) - len(expired) >= limit:
                return False
            version = int(stored["version"]["N"]) if stored else 0
            names = {"#new": row.id, **{f"#x{i}": name for i, name in enumerate(expired)}}
            update = "SET slots.#new = :until, version = :next"
            if not stored:
                update = "SET slots = :first, version = :next"
                names = {}
            if expired and stored:
                update += " REMOVE " + ", ".join(f"slots.#x{i}" for i in range(len(expired)))
            values: dict[str, Any] = {":next": {"N": str(version + 1)}}
            if stored:
                values[":until"] = {"S": format_instant(expires)}
                values[":seen"] = {"N": str(version)}
            else:
                values[":first"] = {"M": {row.id: {"S": format_instant(expires)}}}
            first_call = row.attempt_count == 1 and row.resend_of_attempt is None
            # The contact's first call spends its credit; the retry policy's later calls are covered by it.
            first_of_contact = first_call and int((row.payload.get("metadata") or {}).get("attempt", 1)) == 1
            steps: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key,
                        "UpdateExpression": update,
                        "ConditionExpression": "version = :seen" if stored else "attribute_not_exists(pk)",
                        **({"ExpressionAttributeNames": names} if names else {}),
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": campaign_key(row.company_id, campaign_id),
                        "UpdateExpression": "SET #status = :active"
                        + (" ADD #scheduled :minus, #calling :one" if first_call else "")
                        + (", contacts_dialled :one" if first_of_contact else ""),
                        "ConditionExpression": "#status IN (:scheduled_status, :active)",
                        "ExpressionAttributeNames": {
                            "#status": "status",
                            **(
                                {
                                    "#scheduled": count_attribute(ContactStatus.SCHEDULED),
                                    "#calling": count_attribute(ContactStatus.IN_PROGRESS),
                                }
                                if first_call
                                else {}
                            ),
                        },
                        "ExpressionAttributeValues": {
                            ":active": {"S": CampaignStatus.ACTIVE.value},
                            ":scheduled_status": {"S": CampaignStatus.SCHEDULED.value},
                            **({":one": {"N": "1"}, ":minus": {"N": "-1"}} if first_call else {}),
                        },
                    }
                },
            ]
            if first_call:
                steps.append(
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": day_key(partition, local_date),
                            "UpdateExpression": "ADD placed :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    }
                )
                steps.append(
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": contact_key(partition, contact_index),
                            "UpdateExpression": "SET #status = :calling, updated_at = :now ADD attempts :one",
                            "ConditionExpression": "row_id = :row",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {
                                ":calling": {"S": ContactStatus.IN_PROGRESS.value},
                                ":now": {"S": format_instant(now)},
                                ":one": {"N": "1"},
                                ":row": {"S": row.id},
                            },
                        }
                    }
                )
            try:
                self._client.transact_write_items(TransactItems=steps)
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                if "ConditionalCheckFailed" in reasons[1:]:
                    return False  # paused or cancelled meanwhile (or the contact is another plan's)
                time.sleep(random.uniform(0.005, 0.05))  # another tick took or freed a slot: read again
        return False

    def free_slot(self, company_id: str, campaign_id: str, row_id: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=slots_key(contact_list_partition(CAMPAIGN_PREFIX, company_id, campaign_id)),
                UpdateExpression="REMOVE slots.#row",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#row": row_id},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def call_ended(
        self, company_id: str, campaign_id: str, contact_index: int, row_id: str, outcome: dict[str, Any], now: datetime
    ) -> Campaign | None:
        """The contact's call ended with ``outcome``: the contact completed and counted, once; None if it was
        already (a replayed webhook)."""
        partition = contact_list_partition(CAMPAIGN_PREFIX, company_id, campaign_id)
        counted, counter_names, counter_values = outcome_counters(outcome)
        steps = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": contact_key(partition, contact_index),
                    "UpdateExpression": "SET #status = :done, outcome = :outcome, updated_at = :now",
                    "ConditionExpression": "#status = :calling AND row_id = :row",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":done": {"S": ContactStatus.COMPLETED.value},
                        ":calling": {"S": ContactStatus.IN_PROGRESS.value},
                        ":outcome": to_attributes({"o": outcome})["o"],
                        ":now": {"S": format_instant(now)},
                        ":row": {"S": row_id},
                    },
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": campaign_key(company_id, campaign_id),
                    "UpdateExpression": f"ADD #calling :minus, #done :one, {counted} SET updated_at = :now",
                    "ExpressionAttributeNames": {
                        "#calling": count_attribute(ContactStatus.IN_PROGRESS),
                        "#done": count_attribute(ContactStatus.COMPLETED),
                        **counter_names,
                    },
                    "ExpressionAttributeValues": {
                        ":minus": {"N": "-1"},
                        ":one": {"N": "1"},
                        ":now": {"S": format_instant(now)},
                        **counter_values,
                    },
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=steps)
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return self.get(company_id, campaign_id, consistent=True)

    CONTACT_ATTEMPTS = 4

    def slots_taken(self, campaign: Campaign) -> dict[date, int]:
        stored = self._client.get_item(
            TableName=self._table,
            Key=plan_key(contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)),
            ConsistentRead=True,
        ).get("Item")
        return taken_of(stored.get("taken")) if stored else {}

    def retry_call(
        self,
        campaign: Campaign,
        contact_index: int,
        row_id: str,
        outcome: dict[str, Any],
        retry: Communication,
        slot: DaySlot,
        now: datetime,
    ) -> bool | None:
        company_id = retry.company_id
        partition = contact_list_partition(CAMPAIGN_PREFIX, company_id, campaign.id)
        counted, counter_names, counter_values = outcome_counters(outcome)
        metadata = retry.payload["metadata"]
        body = body_item(retry)
        if body is not None:  # the payload's own item first: a row never names a payload that is not there
            self._client.put_item(TableName=self._table, Item=body)
        steps = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": contact_key(partition, contact_index),
                    "UpdateExpression": "SET #status = :scheduled, outcome = :outcome, row_id = :retry, "
                    "scheduled_at = :when, local_date = :day, updated_at = :now",
                    "ConditionExpression": "#status = :calling AND row_id = :row",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":scheduled": {"S": ContactStatus.SCHEDULED.value},
                        ":calling": {"S": ContactStatus.IN_PROGRESS.value},
                        ":outcome": to_attributes({"o": outcome})["o"],
                        ":retry": {"S": retry.id},
                        ":when": {"S": format_instant(retry.scheduled_for)},
                        ":day": {"S": str(metadata["local_date"])},
                        ":now": {"S": format_instant(now)},
                        ":row": {"S": row_id},
                    },
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": campaign_key(company_id, campaign.id),
                    "UpdateExpression": f"ADD #calling :minus, #scheduled :one, retries_queued :one, {counted} "
                    "SET updated_at = :now",
                    # Not while a re-plan is being made (it gives the contacts their slots).
                    "ConditionExpression": "#status IN (:scheduled_status, :active) AND plan_epoch = :epoch",
                    "ExpressionAttributeNames": {
                        "#status": "status",
                        "#calling": count_attribute(ContactStatus.IN_PROGRESS),
                        "#scheduled": count_attribute(ContactStatus.SCHEDULED),
                        **counter_names,
                    },
                    "ExpressionAttributeValues": {
                        ":minus": {"N": "-1"},
                        ":one": {"N": "1"},
                        ":now": {"S": format_instant(now)},
                        ":scheduled_status": {"S": CampaignStatus.SCHEDULED.value},
                        ":active": {"S": CampaignStatus.ACTIVE.value},
                        ":epoch": {"N": str(campaign.plan_epoch)},
                        **counter_values,
                    },
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": row_to_item(retry, self._shards),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            # The day's slot the retry takes, on condition that no other retry took it first.
            {
                "Update": {
                    "TableName": self._table,
                    "Key": plan_key(partition),
                    "UpdateExpression": "SET taken.#day = :next",
                    "ConditionExpression": "attribute_not_exists(taken.#day)"
                    if slot.seen is None
                    else "taken.#day = :seen",
                    "ExpressionAttributeNames": {"#day": slot.local_date.isoformat()},
                    "ExpressionAttributeValues": {
                        ":next": {"N": str(slot.taken)},
                        **({":seen": {"N": str(slot.seen)}} if slot.seen is not None else {}),
                    },
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=steps)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if "ConditionalCheckFailed" in reasons[:3]:
                return False  # the contact moved on (a replayed webhook), or a re-plan began
            return None  # another retry took the day's slot (or a write conflicted): plan again
        return True

    def contact_ended(
        self,
        company_id: str,
        campaign_id: str,
        contact_index: int,
        row_id: str,
        status: ContactStatus,
        error: str,
        now: datetime,
    ) -> Campaign | None:
        partition = contact_list_partition(CAMPAIGN_PREFIX, company_id, campaign_id)
        key = contact_key(partition, contact_index)
        for _ in range(self.CONTACT_ATTEMPTS):
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            if item is None or item.get("row_id", {}).get("S") != row_id:
                return None  # another plan's call, or no such contact
            current = ContactStatus(item["status"]["S"])
            if current not in (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS):
                return None  # already ended (a replayed stream record)
            steps = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key,
                        "UpdateExpression": "SET #status = :to, last_error = :error, updated_at = :now",
                        "ConditionExpression": "#status = :from AND row_id = :row",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":to": {"S": status.value},
                            ":from": {"S": current.value},
                            ":error": {"S": error[:500]},
                            ":now": {"S": format_instant(now)},
                            ":row": {"S": row_id},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": campaign_key(company_id, campaign_id),
                        "UpdateExpression": "ADD #from :minus, #to :one SET updated_at = :now",
                        "ExpressionAttributeNames": {
                            "#from": count_attribute(current),
                            "#to": count_attribute(status),
                        },
                        "ExpressionAttributeValues": {
                            ":minus": {"N": "-1"},
                            ":one": {"N": "1"},
                            ":now": {"S": format_instant(now)},
                        },
                    }
                },
            ]
            try:
                self._client.transact_write_items(TransactItems=steps)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                    continue  # the contact moved meanwhile (a tick took its call), or a write conflicted: again
                raise
            return self.get(company_id, campaign_id, consistent=True)
        return None


class DynamoCampaignPlanStore(DynamoCampaignStore):
    """``CampaignPlanStore``: the planner's reads and writes (``logic.campaigns.scheduling``)."""

    def _partition(self, campaign: Campaign) -> str:
        return contact_list_partition(CAMPAIGN_PREFIX, campaign.company_id, campaign.id)

    def claim_plan(self, campaign: Campaign, now: datetime, lease_until: datetime) -> PlanProgress | None:
        key = plan_key(self._partition(campaign))
        stored = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if stored and parse_instant(stored["lease_until"]["S"]) > now:
            return None
        if stored and int(stored["epoch"]["N"]) == campaign.plan_epoch:
            progress = PlanProgress(
                epoch=campaign.plan_epoch,
                started_at=parse_instant(stored["started_at"]["S"]),
                next_index=int(stored["next_index"]["N"]),
                taken=taken_of(stored.get("taken")),
                planned=int(stored["planned"]["N"]),
                resumed=True,
            )
        else:
            progress = PlanProgress(epoch=campaign.plan_epoch, started_at=now)
        progress.lease_until = lease_until
        condition = "lease_until = :seen" if stored else "attribute_not_exists(pk)"
        values = {":seen": stored["lease_until"]} if stored else {}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**key, **self._progress_attributes(progress)},
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return None  # another planner claimed it first
            raise
        return progress

    @staticmethod
    def _progress_attributes(progress: PlanProgress) -> dict[str, Any]:
        return {
            "epoch": {"N": str(progress.epoch)},
            "started_at": {"S": format_instant(progress.started_at)},
            "next_index": {"N": str(progress.next_index)},
            "taken": taken_to_attribute(progress.taken),
            "planned": {"N": str(progress.planned)},
            "lease_until": {"S": format_instant(progress.lease_until or progress.started_at)},
        }

    def _checkpoint(self, partition: str, progress: PlanProgress) -> dict[str, Any]:
        """The transaction step that writes ``progress``, on condition that the plan and its lease are still ours."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": {**plan_key(partition), **self._progress_attributes(progress)},
                "ConditionExpression": "epoch = :epoch AND lease_until = :lease",
                "ExpressionAttributeValues": {
                    ":epoch": {"N": str(progress.epoch)},
                    ":lease": {"S": format_instant(progress.lease_until or progress.started_at)},
                },
            }
        }

    def calls_placed(self, campaign: Campaign, since: date) -> dict[date, int]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": self._partition(campaign)},
                ":first": {"S": f"{DAY_PREFIX}{since.isoformat()}"},
                ":last": {"S": f"{DAY_PREFIX}~"},
            },
            ConsistentRead=True,
        )  # a day item per local day from ``since`` on: a few, never a page's worth
        return {
            date.fromisoformat(item["sk"]["S"].removeprefix(DAY_PREFIX)): int(item["placed"]["N"])
            for item in response.get("Items", [])
        }

    def source_contacts(self, campaign: Campaign, from_index: int) -> Iterator[CampaignContact]:
        # Strongly consistent: a contact whose call a tick took just before the plan began is not planned again.
        copied = self.all_contacts(self._partition(campaign), from_index - 1 if from_index else None, consistent=True)
        if campaign.contact_source is not ContactSource.FOLDER or campaign.contact_folder_id is None:
            yield from copied
            return
        # A folder's contacts up to the count reserved at scheduling, each as copied into the campaign if it is.
        folder = contact_list_partition(FOLDER_PREFIX, campaign.company_id, campaign.contact_folder_id)
        originals = self.all_contacts(folder, from_index - 1 if from_index else None)
        mine = next(copied, None)
        for original in originals:
            if original.index >= campaign.credits_reserved:
                return
            while mine is not None and mine.index < original.index:
                mine = next(copied, None)
            if mine is not None and mine.index == original.index:
                yield mine
            else:
                yield original

    def write_plan_batch(
        self, campaign: Campaign, progress: PlanProgress, planned: Sequence[PlannedContact], careful: bool
    ) -> None:
        partition = self._partition(campaign)
        # The contacts first, naming their rows: a row never exists that no contact names.
        self.batch_put([contact_to_item(partition, item.entry) for item in planned])
        new = [item.row for item in planned if not item.moved]
        bodies = [body for body in (body_item(row) for row in new) if body is not None]
        self.batch_put(bodies)
        if careful:
            for row in new:
                self._put_row_if_new(row)
        else:
            self.batch_put([row_to_item(row, self._shards) for row in new])
        # An earlier plan's rows, rewritten at their new slots. While the campaign is scheduling no call of a
        # contact not yet dialled can be placed (taking a slot needs it scheduled or active, and puts the contact
        # in progress in the same transaction, which the plan's consistent read saw): a tick holding such a row
        # only puts it back, and that write is fenced out by this one.
        self.batch_put([row_to_item(item.row, self._shards) for item in planned if item.moved])
        scheduled = sum(item.was_pending for item in planned)
        pending = count_attribute(ContactStatus.PENDING)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    self._checkpoint(partition, progress),
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": campaign_key(campaign.company_id, campaign.id),
                            "UpdateExpression": "ADD #pending :minus, #scheduled :plus",
                            "ConditionExpression": "#status = :scheduling AND plan_epoch = :epoch",
                            "ExpressionAttributeNames": {
                                "#status": "status",
                                "#pending": pending,
                                "#scheduled": count_attribute(ContactStatus.SCHEDULED),
                            },
                            "ExpressionAttributeValues": {
                                ":minus": {"N": str(-scheduled)},
                                ":plus": {"N": str(scheduled)},
                                ":scheduling": {"S": CampaignStatus.SCHEDULING.value},
                                ":epoch": {"N": str(progress.epoch)},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise PlanAbandoned(f"the plan of epoch {progress.epoch} is no longer the campaign's") from exc
            raise

    def _put_row_if_new(self, row: Communication) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=row_to_item(row, self._shards),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise

    def _release(self, campaign: Campaign, progress: PlanProgress) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": plan_key(self._partition(campaign)),
                "UpdateExpression": "SET lease_until = :free",
                "ConditionExpression": "lease_until = :lease",
                "ExpressionAttributeValues": {
                    ":free": {"S": format_instant(progress.started_at - timedelta(days=1))},
                    ":lease": {"S": format_instant(progress.lease_until or progress.started_at)},
                },
            }
        }

    def hand_over(self, campaign: Campaign, progress: PlanProgress) -> None:
        try:
            self._client.update_item(**self._release(campaign, progress)["Update"])
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
        # A write to the campaign item: its stream record invokes a planner, which resumes the plan if it is
        # still the campaign's (status scheduling).
        self._client.update_item(
            TableName=self._table,
            Key=campaign_key(campaign.company_id, campaign.id),
            UpdateExpression="ADD plan_handovers :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def finish_plan(self, campaign: Campaign, progress: PlanProgress, now: datetime) -> None:
        # Every contact that exists and was pending has its slot now. A pending count left over is contacts an
        # upload counted but never wrote (it died between the two): they leave the counts, their credits return.
        current = self.get(campaign.company_id, campaign.id, consistent=True)
        phantoms = max(current.counts.get(ContactStatus.PENDING, 0), 0) if current else 0
        update, names, values = "SET #status = :scheduled, updated_at = :now", {"#status": "status"}, {}
        condition = "#status = :scheduling AND plan_epoch = :epoch"
        steps: list[dict[str, Any]] = []
        if phantoms:
            update += ", credits_returned = credits_returned + :k ADD #pending :minus, contacts_total :minus"
            condition += " AND #pending = :k"
            names["#pending"] = count_attribute(ContactStatus.PENDING)
            values = {":k": {"N": str(phantoms)}, ":minus": {"N": str(-phantoms)}}
            steps.append({"Update": refund_credit(self._table, campaign.company_id, now, phantoms)})
            logger.warning("contacts counted, never written", extra={"batch_call_id": campaign.id, "count": phantoms})
        done = {
            "Update": {
                "TableName": self._table,
                "Key": campaign_key(campaign.company_id, campaign.id),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {
                    ":scheduled": {"S": CampaignStatus.SCHEDULED.value},
                    ":scheduling": {"S": CampaignStatus.SCHEDULING.value},
                    ":epoch": {"N": str(progress.epoch)},
                    ":now": {"S": format_instant(now)},
                    **values,
                },
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[*steps, done, self._release(campaign, progress)])
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            self.hand_over(campaign, progress)  # paused or re-planned meanwhile: the current plan carries on

    def write_wind_down_batch(
        self, campaign: Campaign, progress: PlanProgress, never_called: Sequence[CampaignContact], now: datetime
    ) -> None:
        partition = self._partition(campaign)
        ended = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": contact_to_item(partition, entry),
                    # Still pending and without a call (a folder's contact is not copied yet at all).
                    "ConditionExpression": "attribute_not_exists(pk) OR (#status = :pending AND "
                    "attribute_not_exists(row_id))",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":pending": {"S": ContactStatus.PENDING.value}},
                }
            }
            for entry in never_called
        ]
        checkpoint = self._checkpoint(partition, progress)
        counted = {
            "Update": {
                "TableName": self._table,
                "Key": campaign_key(campaign.company_id, campaign.id),
                "UpdateExpression": "ADD #pending :minus, #cancelled :plus SET updated_at = :now",
                "ConditionExpression": "#status = :cancelled_status AND plan_epoch = :epoch",
                "ExpressionAttributeNames": {
                    "#status": "status",
                    "#pending": count_attribute(ContactStatus.PENDING),
                    "#cancelled": count_attribute(ContactStatus.CANCELLED),
                },
                "ExpressionAttributeValues": {
                    ":minus": {"N": str(-len(ended))},
                    ":plus": {"N": str(len(ended))},
                    ":cancelled_status": {"S": CampaignStatus.CANCELLED.value},
                    ":epoch": {"N": str(progress.epoch)},
                    ":now": {"S": format_instant(now)},
                },
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[*ended, checkpoint, *([counted] if ended else [])])
        except ClientError as exc:
            if condition_failed(exc):
                raise PlanAbandoned(f"the wind-down of epoch {progress.epoch} is no longer the campaign's") from exc
            raise

    def finish_wind_down(self, campaign: Campaign, progress: PlanProgress, now: datetime) -> None:
        done = {
            "Update": {
                "TableName": self._table,
                "Key": campaign_key(campaign.company_id, campaign.id),
                "UpdateExpression": "SET wound_down_at = :now",
                "ConditionExpression": "#status = :cancelled AND plan_epoch = :epoch",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":cancelled": {"S": CampaignStatus.CANCELLED.value},
                    ":epoch": {"N": str(progress.epoch)},
                    ":now": {"S": format_instant(now)},
                },
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[done, self._release(campaign, progress)])
        except ClientError as exc:
            if not condition_failed(exc):
                raise


def stored_counts(item: dict[str, Any]) -> dict[str, int]:
    """A campaign item's counters as plain numbers (for tests and the CLI)."""
    return {k: v for k, v in from_attributes(item).items() if k.startswith("n_")}
