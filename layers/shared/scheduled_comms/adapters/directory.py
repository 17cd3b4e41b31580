"""Company settings and registrations in DynamoDB; voice provider credentials in Secrets Manager.

Items, all in the company's partition: ``#SETTINGS`` (business hours, default sender),
``PN#<id>`` (sender numbers), ``VAC#<id>`` (voice-agent configs, with the ARN of their secret) and
``SND#<user id>`` (users' email senders), ``BR#<id>`` (brands), ``TPL#<key>`` (a template's current version)
and ``TPLV#<key>#<version>`` (every version, written once: a message renders the version it was scheduled with).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.adapters.dynamodb.items import company_pk, from_attributes, to_attributes
from scheduled_comms.models.business_hours import BusinessHours, Holidays
from scheduled_comms.models.domain import Delivery
from scheduled_comms.models.registry import (
    PhoneNumber,
    SenderSettings,
    UserSender,
    VoiceAgentConfig,
    VoiceCredentials,
)
from scheduled_comms.models.values import format_instant

if TYPE_CHECKING:  # the vault's functions build a reader; the rest need not import Powertools' parameters
    from scheduled_comms.adapters.secrets import SecretReader
    from scheduled_comms.models.messages import Brand, StoredTemplate  # only the messages' functions read them
    from scheduled_comms.models.protection import FrequencyCaps

SETTINGS_SK = "#SETTINGS"


def _brand(document: str) -> Brand:
    from scheduled_comms.models.messages import Brand

    return Brand.model_validate_json(document)


def _template(document: str) -> StoredTemplate:
    from scheduled_comms.models.messages import StoredTemplate

    return StoredTemplate.model_validate_json(document)


class DynamoDirectory:
    """Reads and writes of company settings and registrations.

    With ``cache_seconds`` the single-item reads (business hours, sender settings, a number, a voice
    config) are kept that long: the tick looks them up for every row it sends. Each tick starts with
    an empty cache, so a change reaches the next tick at the latest. The API reads without a cache,
    so it reads its own writes, but for the defaults a new row takes (the company's zone and default
    delivery), kept ``defaults_cache_seconds`` so that a create is one round trip: a change made through
    this directory drops them at once, one made elsewhere is seen once they are that old.
    """

    MAX_CACHED = 10_000

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        cache_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
        defaults_cache_seconds: float = 0,
    ) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")
        self._cache_seconds = cache_seconds
        self._defaults_cache_seconds = defaults_cache_seconds
        self._defaults: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}
        self._cache_lock = threading.Lock()

    def forget(self) -> None:
        """Drop every cached read."""
        with self._cache_lock:
            self._cache.clear()
            self._defaults.clear()

    def _settings_for_new_rows(self, company_id: str) -> dict[str, Any]:
        """The company's settings item as the defaults of a new row read it: kept ``defaults_cache_seconds``
        (a create then makes one round trip), dropped when this process changes the company's settings."""
        if not self._defaults_cache_seconds:
            return self._get(company_id, SETTINGS_SK) or {}
        with self._cache_lock:
            cached = self._defaults.get(company_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1] or {}
        found = self._get(company_id, SETTINGS_SK)
        with self._cache_lock:
            if len(self._defaults) >= self.MAX_CACHED:
                self._defaults.clear()
            self._defaults[company_id] = (self._clock() + self._defaults_cache_seconds, found)
        return found or {}

    def _key(self, company_id: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": company_pk(company_id)}, "sk": {"S": sk}}

    def _get(self, company_id: str, sk: str) -> dict[str, Any] | None:
        if self._cache_seconds:
            with self._cache_lock:
                cached = self._cache.get((company_id, sk))
            if cached is not None and cached[0] > self._clock():
                return cached[1]
        item = self._client.get_item(TableName=self._table, Key=self._key(company_id, sk)).get("Item")
        found = {k: v for k, v in from_attributes(item).items() if k not in ("pk", "sk")} if item else None
        if self._cache_seconds:
            with self._cache_lock:
                if len(self._cache) >= self.MAX_CACHED:
                    self._cache.clear()
                self._cache[(company_id, sk)] = (self._clock() + self._cache_seconds, found)
        return found

    def _query(self, company_id: str, prefix: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": company_pk(company_id)}, ":prefix": {"S": prefix}},
        }
        found: list[dict[str, Any]] = []
        while True:
            response = self._client.query(**request)
            found.extend(
                {k: v for k, v in from_attributes(item).items() if k not in ("pk", "sk")} for item in response["Items"]
            )
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _set_setting(self, company_id: str, name: str, value: Any, now: datetime) -> None:
        with self._cache_lock:
            self._defaults.pop(company_id, None)
        self._client.update_item(
            TableName=self._table,
            Key=self._key(company_id, SETTINGS_SK),
            UpdateExpression="SET #n = :v, updated_at = :now",
            ExpressionAttributeNames={"#n": name},
            ExpressionAttributeValues=to_attributes({":v": value, ":now": format_instant(now)}),
        )

    def _stored_business_hours(self, company_id: str) -> BusinessHours | None:
        stored = (self._get(company_id, SETTINGS_SK) or {}).get("business_hours")
        return BusinessHours.model_validate(stored) if stored else None

    def business_hours(self, company_id: str) -> BusinessHours:
        return self._stored_business_hours(company_id) or BusinessHours()

    def holidays(self, company_id: str) -> Holidays:
        stored = (self._get(company_id, SETTINGS_SK) or {}).get("holidays")
        return Holidays.model_validate(stored) if stored else Holidays()

    def put_holidays(self, company_id: str, holidays: Holidays, now: datetime) -> None:
        self._set_setting(company_id, "holidays", holidays.model_dump(mode="json", exclude_none=True), now)

    def frequency_caps(self, company_id: str) -> FrequencyCaps:
        from scheduled_comms.models.protection import FrequencyCaps

        stored = (self._get(company_id, SETTINGS_SK) or {}).get("frequency_caps")
        return FrequencyCaps.model_validate(stored) if stored else FrequencyCaps()

    def put_frequency_caps(self, company_id: str, caps: FrequencyCaps, now: datetime) -> None:
        self._set_setting(company_id, "frequency_caps", caps.model_dump(mode="json"), now)

    def company_timezone(self, company_id: str) -> str | None:
        stored = self._settings_for_new_rows(company_id).get("business_hours")
        return BusinessHours.model_validate(stored).timezone if stored else None

    def put_business_hours(self, company_id: str, hours: BusinessHours, now: datetime) -> None:
        self._set_setting(company_id, "business_hours", hours.model_dump(mode="json"), now)

    def sender_settings(self, company_id: str) -> SenderSettings:
        stored = self._get(company_id, SETTINGS_SK) or {}
        return SenderSettings(default_from_email=stored.get("default_from_email"))

    def put_sender_settings(self, company_id: str, settings: SenderSettings, now: datetime) -> None:
        self._set_setting(company_id, "default_from_email", settings.default_from_email, now)

    def put_user_sender(self, company_id: str, sender: UserSender) -> None:
        item = {
            **to_attributes(sender.model_dump(mode="json", exclude_none=True)),
            **self._key(company_id, f"SND#{sender.user_id}"),
        }
        self._client.put_item(TableName=self._table, Item=item)

    def user_sender(self, company_id: str, user_id: str) -> UserSender | None:
        stored = self._get(company_id, f"SND#{user_id}")
        return UserSender.model_validate(stored) if stored else None

    def user_senders(self, company_id: str) -> list[UserSender]:
        return [UserSender.model_validate(item) for item in self._query(company_id, "SND#")]

    def delete_user_sender(self, company_id: str, user_id: str) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(company_id, f"SND#{user_id}"),
                ConditionExpression="attribute_exists(pk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def default_delivery(self, company_id: str) -> Delivery:
        stored = self._settings_for_new_rows(company_id).get("default_delivery")
        return Delivery(stored) if stored else Delivery.AT_LEAST_ONCE

    def put_default_delivery(self, company_id: str, delivery: Delivery, now: datetime) -> None:
        self._set_setting(company_id, "default_delivery", delivery.value, now)

    def put_phone_number(self, company_id: str, number: PhoneNumber) -> None:
        item = {
            **to_attributes(number.model_dump(mode="json", exclude_none=True)),
            **self._key(company_id, f"PN#{number.id}"),
        }
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def phone_number(self, company_id: str, number_id: str) -> PhoneNumber | None:
        stored = self._get(company_id, f"PN#{number_id}")
        return PhoneNumber.model_validate(stored) if stored else None

    def phone_numbers(self, company_id: str) -> list[PhoneNumber]:
        return [PhoneNumber.model_validate(item) for item in self._query(company_id, "PN#")]

    def put_voice_config(self, company_id: str, config: VoiceAgentConfig, secret_arn: str) -> None:
        values = {**config.model_dump(mode="json"), "secret_arn": secret_arn}
        item = {**to_attributes(values), **self._key(company_id, f"VAC#{config.id}")}
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def voice_config(self, company_id: str, config_id: str) -> tuple[VoiceAgentConfig, str] | None:
        stored = self._get(company_id, f"VAC#{config_id}")
        if not stored:
            return None
        return VoiceAgentConfig.model_validate(stored), str(stored["secret_arn"])

    def voice_configs(self, company_id: str) -> list[VoiceAgentConfig]:
        return [VoiceAgentConfig.model_validate(item) for item in self._query(company_id, "VAC#")]

    # Brands and templates are kept as their JSON text: what a client puts in their free-form maps (brand
    # variables, a variables_schema) need not be something DynamoDB can hold as a map (numbers past 38
    # digits, empty keys), and they are only ever read whole.
    def put_brand(self, company_id: str, brand: Brand) -> None:
        item = {"document": {"S": brand.model_dump_json()}, **self._key(company_id, f"BR#{brand.id}")}
        self._client.put_item(TableName=self._table, Item=item)

    def brand(self, company_id: str, brand_id: str) -> Brand | None:
        stored = self._get(company_id, f"BR#{brand_id}")
        return _brand(stored["document"]) if stored else None

    def brands(self, company_id: str) -> list[Brand]:
        return [_brand(item["document"]) for item in self._query(company_id, "BR#")]

    @staticmethod
    def _template_version_sk(key: str, version: int) -> str:
        return f"TPLV#{key}#{version:010d}"

    def put_template(self, company_id: str, template: StoredTemplate) -> bool:
        """Store ``template`` as its key's next version; False when another PUT took that version first."""
        values = {"document": {"S": template.model_dump_json()}, "version": {"N": str(template.version)}}
        head: dict[str, Any] = {
            "TableName": self._table,
            "Item": {**values, **self._key(company_id, f"TPL#{template.key}")},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if template.version > 1:  # replaces the head (a deleted key's too) only if no other PUT came between
            head["ConditionExpression"] = "version = :previous"
            head["ExpressionAttributeValues"] = {":previous": {"N": str(template.version - 1)}}
        version = {
            "TableName": self._table,
            "Item": {**values, **self._key(company_id, self._template_version_sk(template.key, template.version))},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Put": head}, {"Put": version}])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def template(self, company_id: str, key: str) -> StoredTemplate | None:
        """The template's current version (None when it was never put, or was deleted)."""
        stored = self._get(company_id, f"TPL#{key}")
        if not stored or "deleted_at" in stored:
            return None
        return _template(stored["document"])

    def template_head_version(self, company_id: str, key: str) -> int:
        """The last version number given to the key (0 when none), deleted or not."""
        stored = self._get(company_id, f"TPL#{key}")
        return int(stored["version"]) if stored else 0

    def template_version(self, company_id: str, key: str, version: int) -> StoredTemplate | None:
        stored = self._get(company_id, self._template_version_sk(key, version))
        return _template(stored["document"]) if stored else None

    def templates(self, company_id: str) -> list[StoredTemplate]:
        return [_template(item["document"]) for item in self._query(company_id, "TPL#") if "deleted_at" not in item]

    def delete_template(self, company_id: str, key: str, now: datetime) -> bool:
        """Mark the key deleted (its versions stay: messages already scheduled still render)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(company_id, f"TPL#{key}"),
                UpdateExpression="SET deleted_at = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                ExpressionAttributeValues={":now": {"S": format_instant(now)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


class SecretsVault:
    """Provider credentials, one Secrets Manager secret per voice-agent config."""

    def __init__(self, name_prefix: str, reader: SecretReader, client: Any | None = None) -> None:
        self._prefix = name_prefix
        self._reader = reader
        self._client = client or aws_client("secretsmanager")

    def put_voice_credentials(self, company_id: str, config_id: str, credentials: VoiceCredentials) -> str:
        response = self._client.create_secret(
            Name=f"{self._prefix}/{company_id}/voice-agent-configs/{config_id}",
            SecretString=credentials.model_dump_json(),
            Description="Voice provider credentials of a voice-agent config",
        )
        return str(response["ARN"])

    def voice_credentials(self, secret_arn: str) -> VoiceCredentials:
        return VoiceCredentials.model_validate_json(self._reader.read_bytes(secret_arn))
