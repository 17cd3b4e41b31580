"""Patches to moto's internals that make it behave as AWS does (and answer in good time) under threads.

They reach into private parts of moto, so they are pinned to the one version they were written
against: another version is refused at once instead of failing in some later request.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType

MOTO_VERSION = "5.2.5"  # the version these patches were written and tested against (constraints.txt)

_serialise_lock = threading.RLock()
_prepared = False


# Keyword arguments moto's Table.query may get from a plain key-condition query (no legacy QueryFilter).
_QUERY_KWARGS = frozenset({"hash_key_conditions", "range_key_conditions"})


@dataclass(frozen=True)
class PageOf:
    """A query of a table's own keys (``Table.query``'s first arguments): which of the partition's items can be
    on its page, in key order. moto's query then does all it does to them (its conditions, limits, keys)."""

    hash_key: Any
    range_comparison: str | None
    range_objs: list[Any]
    limit: int | None
    exclusive_start_key: dict[str, Any] | None
    scan_index_forward: bool

    def candidates(self, table: Any) -> list[Any]:
        items = sorted(table.items.get(self.hash_key, {}).values(), key=_range_of)
        if self.range_comparison:
            items = [item for item in items if item.range_key.compare(self.range_comparison, self.range_objs)]
        start = (self.exclusive_start_key or {}).get(table.range_key_attr)
        if start is not None:
            after = DynamoType(start).cast_value
            forward = self.scan_index_forward is not False
            items = [item for item in items if (_range_of(item) > after if forward else _range_of(item) < after)]
        if self.limit:  # the page and the one item past it (which tells moto there is more)
            items = items[: self.limit + 1] if self.scan_index_forward is not False else items[-(self.limit + 1) :]
        return items


def _range_of(item: Any) -> Any:
    return item.range_key.cast_value


def require_pinned_moto() -> None:
    """Refuse a moto other than the one the patches below were written against."""
    from importlib.metadata import version

    installed = version("moto")
    if installed != MOTO_VERSION:
        raise RuntimeError(
            f"moto {installed} is installed, but scheduled_comms_local's patches are written for moto {MOTO_VERSION}: "
            "install the pinned version (pip install -c constraints.txt), or port the patches and update MOTO_VERSION"
        )


def is_plain_attribute_value(value: Any) -> bool:
    """Whether ``value`` is a DynamoDB JSON attribute value without binary: one that moto's response
    serializer answers exactly as it is."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return type(inner) is str
    if kind in ("BOOL", "NULL"):
        return type(inner) is bool
    if kind in ("SS", "NS"):
        return type(inner) is list and all(type(member) is str for member in inner)
    if kind == "M":
        return type(inner) is dict and all(
            type(name) is str and is_plain_attribute_value(member) for name, member in inner.items()
        )
    if kind == "L":
        return type(inner) is list and all(is_plain_attribute_value(member) for member in inner)
    return False


def dynamo_to_plain(obj: Any) -> Any:
    """moto's ``dynamo_to_dict`` (its answers' DynamoDB objects as plain values), step for step, without
    its import at every call and with strings, most of what it sees, answered first."""
    if type(obj) is str:
        return obj
    if isinstance(obj, datetime):
        return obj
    if isinstance(obj, DynamoType):
        if obj.type == "B":
            return {"B": obj.value if isinstance(obj.value, bytes) else base64.b64decode(obj.value)}
        if obj.type == "BS":
            return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v) for v in obj.value]}
        return {obj.type: dynamo_to_plain(obj.value)}
    if hasattr(obj, "to_json"):
        return dynamo_to_plain(obj.to_json())
    if isinstance(obj, dict):
        return {k: dynamo_to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [dynamo_to_plain(item) for item in obj]
    return obj


def prepare_moto_dynamodb() -> None:
    """Make moto's DynamoDB behave like the real one under threads, and answer index queries in good time.

    DynamoDB applies a condition check and its write atomically; moto does not, so concurrent
    conditional writes could both succeed. One lock around each request restores the real behaviour.

    moto sorts the whole table, and then the items of an index query, by comparing its ``DynamoType``
    wrappers, which convert both values on every comparison: seconds per query on a 10,000-row table.
    Sorting on the values, converted once per item, gives the same order (a key attribute has one
    type) far faster; and a string converts to itself without the five type checks before it.

    Its responses go through a generic serializer that walks every attribute of every item against the
    API model, looking each member up under several aliases: most of a request's time in moto. An
    attribute value is already DynamoDB JSON, so one without binary (``is_plain_attribute_value``) is
    answered as it is, which is what the serializer makes of it; binary values still take the walk.
    Before that, each answer is made plain by ``dynamo_to_dict``, which imports a module at every one of
    its recursive calls: ``dynamo_to_plain`` does the same without.
    Streams answer ``get_records`` without the serializer at all, for the same reason.

    A query deep-copies the items it found before answering them. The copy guards against a later
    write changing them, and none can: the answer is serialised before the request lets go of the lock
    that every DynamoDB request holds. So they are answered without the copy.

    A transaction in moto deep-copies every table it names before it starts, to roll back on failure:
    a create (one transaction) costs time in proportion to the whole table, over half a second at a few
    hundred rows. Backing up only the items the transaction names, and putting them back on failure,
    gives the same all-or-nothing outcome at the cost of those items.
    """
    global _prepared
    if _prepared:
        return
    require_pinned_moto()
    import copy

    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.models.utilities import dynamo_json_dump
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _serialise_lock:
            return original(self)

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]) -> Any:
        names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        items.sort(key=lambda item: tuple(item.attrs[name].cast_value for name in names))
        return items

    def key_of(item: Any) -> tuple[Any, Any]:
        # An item's key never changes (an update keeps it, a put makes a new item): work it out once.
        key = item.__dict__.get("_sort_key")
        if key is None:
            key = item._sort_key = (item.hash_key.cast_value, getattr(item.range_key, "cast_value", ""))
        return key

    def all_items(self: Any) -> list[Any]:
        page = getattr(in_query, "page", None)
        if page is not None and self.range_key_attr:
            return page.candidates(self)
        items = [item for group in self.items.values() for item in (group.values() if self.range_key_attr else [group])]
        return sorted(items, key=key_of)

    convert = DynamoType.cast_value.fget  # type: ignore[attr-defined]

    def cast_value(self: Any) -> Any:
        return self.value if self.type == "S" else convert(self)

    def get_records(self: Any) -> tuple[int, dict[str, str], str]:
        limit = self._get_param("Limit") or 1000
        return 200, {}, dynamo_json_dump(self.backend.get_records(self._get_param("ShardIterator"), limit))

    serialize_structure = BaseJSONSerializer._serialize_type_structure

    @functools.wraps(serialize_structure)
    def serialize_plain_attribute_values(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name in ("dynamodb", "dynamodbstreams")
            and is_plain_attribute_value(value)
        ):
            serialized[key] = value
        else:
            serialize_structure(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_plain_attribute_values  # type: ignore[method-assign]
    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign,assignment]
    dynamodb_responses.dynamo_to_dict = dynamo_to_plain
    in_transaction = threading.local()
    in_query = threading.local()

    class CopiesSkipped:
        """``copy`` as a moto module sees it: ``deepcopy`` answers the value itself when ``skip`` says so."""

        def __init__(self, skip: Callable[[Any], bool]) -> None:
            self._skip = skip

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        def deepcopy(self, value: Any, memo: Any = None) -> Any:
            return value if self._skip(value) else copy.deepcopy(value, memo)

    original_query = Table.query

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        in_query.active = True
        # A query of the table itself reads its page of one partition, as DynamoDB's does: moto would sort the
        # whole table to pick the partition out, then walk the partition up to the page, at every page.
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        plain = len(args) >= 7 and not index_name and args[0] is not None and not kwargs.get("filter_kwargs")
        in_query.page = PageOf(*args[:6]) if plain and not any(k not in _QUERY_KWARGS for k in kwargs) else None
        try:
            return original_query(self, *args, **kwargs)
        finally:
            in_query.active = False
            in_query.page = None

    def item_backups(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        backups: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) != 1:
                continue
            op = next(iter(entry.values()))
            table = backend.tables.get(op.get("TableName"))
            source = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in source:
                continue
            hash_value = DynamoType(source[table.hash_key_attr])
            if table.range_key_attr is None:
                backups.append((table, hash_value, None, copy.deepcopy(table.items.get(hash_value))))
            elif table.range_key_attr in source:
                range_value = DynamoType(source[table.range_key_attr])
                current = table.items.get(hash_value, {}).get(range_value)
                backups.append((table, hash_value, range_value, copy.deepcopy(current)))
        return backups

    def restore(backups: list[tuple[Any, Any, Any, Any]]) -> None:
        for table, hash_value, range_value, item in reversed(backups):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item

    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = item_backups(self, transact_items)
        # A write moto applied before a later item failed also left a stream record: undone with it.
        streams = {id(t): (t.stream_shard, len(t.stream_shard.items)) for t, *_ in backups if t.stream_shard}
        in_transaction.active = True
        try:
            original_transact(self, transact_items)
        except Exception:
            restore(backups)  # all or nothing, as DynamoDB
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            in_transaction.active = False

    # A table is not copied while a transaction runs; a query's results are not copied (see above).
    dynamodb_models.copy = CopiesSkipped(  # type: ignore[assignment]
        lambda value: isinstance(value, Table) and getattr(in_transaction, "active", False)
    )
    table_module.copy = CopiesSkipped(lambda _: getattr(in_query, "active", False))  # type: ignore[assignment]
    Table.query = query  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign,assignment]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.sorted_items = sorted_items  # type: ignore[method-assign]
    _prepared = True


def prepare_moto_events() -> None:
    """Keep moto's EventBridge from rebuilding a JSONPath parser for every event it hands a target.

    moto 5.2 parses the nine default input paths afresh for each delivered event (a grammar table built
    per call, milliseconds each); the paths never change, so each parsed expression is kept.
    """
    require_pinned_moto()
    import jsonpath_ng.ext

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


def prepare_moto_dispatch() -> None:
    """Keep moto's server from listing its own package for every request.

    To find the service a request is for, moto 5.2's dispatcher lists the directories of its package
    (a stat call for each of some 200 entries) while holding a lock every request waits for; the
    package does not change while the process runs, so it is listed once.
    """
    require_pinned_moto()
    from moto import backends

    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        listing = backends.list_of_moto_modules
        backends.list_of_moto_modules = functools.cache(lambda: tuple(listing()))


def moto_dynamodb_lock() -> threading.RLock:
    """The lock every moto DynamoDB request holds: hold it to read moto's tables between two requests."""
    return _serialise_lock


def prepare_moto_sns() -> None:
    """Make moto's SNS read an endpoint's ``Enabled`` attribute as AWS does.

    AWS takes ``Enabled`` as the text "true" or "false"; moto 5.2 stores the text and then counts an endpoint
    enabled only when the attribute is the boolean True, so an endpoint enabled again ("true") would stay
    disabled, and one created without the attribute could never be matched again by its token.
    """
    require_pinned_moto()
    from moto.sns.models import SNSBackend

    if getattr(SNSBackend.set_endpoint_attributes, "_reads_enabled_text", False):
        return
    original = SNSBackend.set_endpoint_attributes

    def set_endpoint_attributes(self: Any, arn: str, attributes: dict[str, Any]) -> Any:
        if isinstance(attributes.get("Enabled"), str):
            attributes = {**attributes, "Enabled": attributes["Enabled"].lower() == "true"}
        return original(self, arn, attributes)

    set_endpoint_attributes._reads_enabled_text = True  # type: ignore[attr-defined]
    SNSBackend.set_endpoint_attributes = set_endpoint_attributes  # type: ignore[method-assign]
