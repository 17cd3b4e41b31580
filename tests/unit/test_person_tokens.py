"""Per-person inbox tokens: round trip, and every alteration refused alike (hypothesis over person ids)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scheduled_comms.errors import Unauthorized
from scheduled_comms.logic.auth import PERSON_SCOPES, authenticate_person, person_token

SECRET = b"s" * 48
COMPANY = "5f0c8b8e-6a43-4d0e-9b1a-3f7d2c9e1a10"
OTHER_COMPANY = "7a1d2c3b-6a43-4d0e-9b1a-3f7d2c9e1a10"
person_ids = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


@given(person_ids)
def test_a_token_names_its_company_and_person_and_only_the_inbox_scopes(person_id):
    caller = authenticate_person(f"Bearer {person_token(SECRET, COMPANY, person_id)}", SECRET)

    assert (caller.company_id, caller.person_id, caller.scopes) == (COMPANY, person_id, PERSON_SCOPES)


@given(person_ids, st.integers(min_value=0), st.sampled_from("AQg_-z9"))
def test_any_changed_character_is_refused(person_id, position, replacement):
    token = person_token(SECRET, COMPANY, person_id)
    index = len("spt_") + position % (len(token) - len("spt_"))
    altered = token[:index] + replacement + token[index + 1 :]
    if altered == token:
        return

    with pytest.raises(Unauthorized, match=r"^Unknown person token$"):
        authenticate_person(f"Bearer {altered}", SECRET)


def test_another_secret_another_company_or_a_moved_person_is_refused():
    token = person_token(SECRET, COMPANY, "ana")
    prefix, _, mac = token.split(".")
    moved = f"{prefix}.{person_token(SECRET, COMPANY, 'bo').split('.')[1]}.{mac}"
    other_company = token.replace(COMPANY, OTHER_COMPANY)

    for candidate in (person_token(b"x" * 48, COMPANY, "ana"), moved, other_company, "spt_", "", "sck_abc"):
        with pytest.raises(Unauthorized):
            authenticate_person(f"Bearer {candidate}", SECRET)
