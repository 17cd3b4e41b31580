"""Contact uploads, as a JSON array or a CSV body: all lines are added, or none.

A request with any bad line is refused whole, with one error per problem (the line's index, and for CSV its
line number, in the message) up to ``MAX_LISTED_ERRORS``. A number given twice, in the upload or already in
the campaign, makes the later line bad.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Set
from typing import Any

from pydantic import ValidationError

from scheduled_comms.errors import FieldError, ValidationFailed, field_errors
from scheduled_comms.models.campaigns import Contact

MAX_CONTACTS_PER_UPLOAD = 1_000
MAX_LISTED_ERRORS = 100


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("The contacts are not valid; see details", [FieldError(field, message)])


Known = Set[str] | Callable[[list[str]], Set[str]]


def _checked(
    rows: list[tuple[dict[str, Any] | str, str]], default_region: str | None, existing: Known
) -> list[Contact]:
    """Each row (a record, or the reason it is already bad; and a prefix for its messages) as a contact.

    ``existing``: the numbers the list already has, or a function answering which of the given numbers it has
    (asked once, for the lines that are otherwise good, so every bad line is named in one answer)."""
    if len(rows) > MAX_CONTACTS_PER_UPLOAD:
        raise _refuse("contacts", f"must hold at most {MAX_CONTACTS_PER_UPLOAD} contacts per request")
    good: list[tuple[int, str, Contact]] = []
    problems: list[tuple[int, FieldError]] = []
    first_index_of: dict[str, int] = {}
    context = {"default_region": default_region}
    for index, (record, where) in enumerate(rows):
        field = f"contacts[{index}]"
        if isinstance(record, str):
            found = [FieldError(field, record)]
        else:
            try:
                contact = Contact.model_validate(record, context=context)
            except ValidationError as exc:
                found = field_errors(exc.errors(), ("contacts", index))
            else:
                number = contact.phone_number
                if number in first_index_of:
                    found = [FieldError(f"{field}.phone_number", f"repeats contacts[{first_index_of[number]}]")]
                else:
                    first_index_of[number] = index
                    good.append((index, where, contact))
                    continue
        problems += [(index, FieldError(problem.field, where + problem.message)) for problem in found]
    known = existing([contact.phone_number for _, _, contact in good]) if callable(existing) else existing
    for index, where, contact in good:
        if contact.phone_number in known:
            message = f"{where}{contact.phone_number} is already in the campaign (or folder)"
            problems.append((index, FieldError(f"contacts[{index}].phone_number", message)))
    if problems:
        problems.sort(key=lambda problem: problem[0])
        bad_lines = len({index for index, _ in problems})
        raise ValidationFailed(
            f"{bad_lines} of the {len(rows)} contacts are not valid; none was added (see details)",
            [problem for _, problem in problems[:MAX_LISTED_ERRORS]],
        )
    return [contact for _, _, contact in good]


def parse_contact_json(body: Any, *, default_region: str | None = None, existing: Known = frozenset()) -> list[Contact]:
    """A JSON array of contact objects (``phone_number`` or ``to_number``, optional ``name``, ``contact_id``,
    ``timezone``; other keys are dynamic variables). ``existing``: the numbers already in the campaign."""
    if not isinstance(body, list):
        raise _refuse("body", "must be a JSON array of contacts, or a text/csv body")
    return _checked([(record, "") for record in body], default_region, existing)


def parse_contact_csv(text: str, *, default_region: str | None = None, existing: Known = frozenset()) -> list[Contact]:
    """A CSV body whose header row names ``phone_number`` (or ``to_number``), optionally ``name``,
    ``contact_id``, ``timezone``; every other column is a dynamic variable. An empty cell gives no value."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in next(reader, [])]
    if "phone_number" not in header and "to_number" not in header:
        raise _refuse("body", "must start with a header row naming a phone_number (or to_number) column")
    if "" in header or len(set(header)) != len(header):
        raise _refuse("body", "the header row must name every column once")
    rows: list[tuple[dict[str, Any] | str, str]] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        where = f"line {reader.line_num}: "
        if len(cells) > len(header):
            rows.append((f"has {len(cells)} cells; the header names {len(header)} columns", where))
        else:
            rows.append(({name: cell for name, cell in zip(header, cells, strict=False) if cell != ""}, where))
        if len(rows) > MAX_CONTACTS_PER_UPLOAD:
            break
    return _checked(rows, default_region, existing)
