"""The in-app inbox: messages land when the tick sends them, the feed (newest first, pages, status filter,
counts, ETag and 304), marks, and the per-person token that reaches one person's inbox only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from scheduled_comms import composition
from scheduled_comms.logic.auth import person_token

from tests.integration.conftest import soon

TEMPLATE = {
    "parts": {"in_app": {"title": "Hello {{ name }}", "body": "{{ brand.name }} says: {{ text }}", "action_url": "/a"}},
    "phi_safe": False,
}


@pytest.fixture
def company(api, make_company):
    company = make_company()
    assert api.request("PUT", "/v1/brands/acme", company, {"name": "Acme"}).status == 200
    assert api.request("PUT", "/v1/templates/note", company, TEMPLATE).status == 200
    return company


def person() -> str:
    return f"person-{uuid.uuid4().hex[:8]}"


def schedule_in_app(api, company, person_id: str, text: str, status: int = 201, **overrides: Any) -> dict[str, Any]:
    body = {
        "channel": "in_app",
        "template_key": "note",
        "recipient": person_id,
        "brand_id": "acme",
        "person_id": person_id,
        "variables": {"name": "Ana", "text": text},
        "dedup_key": uuid.uuid4().hex,
        "scheduled_at": soon(1).isoformat(),
        **overrides,
    }
    reply = api.request("POST", "/v1/messages/schedule", company, body)
    assert reply.status == status, reply.text
    return reply.json()


def inbox(api, who, person_id: str, query: str = "", headers: dict[str, str] | None = None):
    return api.request("GET", f"/v1/people/{person_id}/inbox{query}", who, headers=headers)


def token_for(api, company, person_id: str) -> str:
    reply = api.request("POST", f"/v1/people/{person_id}/inbox/token", company)
    assert reply.status == 200, reply.text
    return reply.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_message_lands_in_the_inbox_only_when_the_tick_sends_it(api, company, ticker):
    person_id = person()
    message = schedule_in_app(api, company, person_id, "first")

    assert inbox(api, company, person_id).json()["data"] == []
    ticker.at(soon(5))

    feed = inbox(api, company, person_id).json()
    assert [(e["id"], e["title"], e["body"], e["status"]) for e in feed["data"]] == [
        (message["id"], "Hello Ana", "Acme says: first", "unread")
    ]
    assert feed["meta"]["unseen"] == 1 and feed["meta"]["unread"] == 1
    assert api.request("GET", f"/v1/messages/{message['id']}", company).json()["status"] == "sent"


def test_the_feed_pages_newest_first_with_counts_and_a_status_filter(api, company, ticker):
    person_id = person()
    for text in ("one", "two", "three"):
        schedule_in_app(api, company, person_id, text)
        ticker.at(soon(5))  # each lands at its own tick: a later one is newer

    first = inbox(api, company, person_id, "?limit=2").json()
    second = inbox(api, company, person_id, f"?limit=2&cursor={first['meta']['next_cursor']}").json()

    assert [e["body"] for e in first["data"]] == ["Acme says: three", "Acme says: two"]
    assert [e["body"] for e in second["data"]] == ["Acme says: one"] and second["meta"]["next_cursor"] is None
    newest = first["data"][0]["id"]
    assert api.request("POST", f"/v1/people/{person_id}/inbox/{newest}/read", company).status == 200
    oldest = second["data"][0]["id"]
    assert api.request("POST", f"/v1/people/{person_id}/inbox/{oldest}/archive", company).status == 200
    unread = inbox(api, company, person_id, "?status=unread").json()
    read = inbox(api, company, person_id, "?status=read").json()
    archived = inbox(api, company, person_id, "?status=archived").json()
    assert [e["body"] for e in unread["data"]] == ["Acme says: two"]
    assert [e["id"] for e in read["data"]] == [newest] and [e["id"] for e in archived["data"]] == [oldest]
    assert [e["body"] for e in inbox(api, company, person_id).json()["data"]] == ["Acme says: three", "Acme says: two"]
    assert (unread["meta"]["unseen"], unread["meta"]["unread"]) == (1, 1)


def test_seen_then_read_then_mark_all_read_keep_the_counts(api, company, ticker):
    person_id = person()
    ids = [schedule_in_app(api, company, person_id, text)["id"] for text in ("a", "b", "c")]
    ticker.at(soon(5))

    seen = api.request("POST", f"/v1/people/{person_id}/inbox/{ids[0]}/seen", company)
    again = api.request("POST", f"/v1/people/{person_id}/inbox/{ids[0]}/seen", company)
    meta = inbox(api, company, person_id).json()["meta"]
    all_read = api.request("POST", f"/v1/people/{person_id}/inbox/read-all", company).json()

    assert seen.json()["seen"] is True and seen.json()["status"] == "unread"
    assert again.json()["seen_at"] == seen.json()["seen_at"]
    assert (meta["unseen"], meta["unread"]) == (2, 3)
    assert all_read == {"marked": 3, "meta": {"unseen": 0, "unread": 0}}
    assert {e["status"] for e in inbox(api, company, person_id).json()["data"]} == {"read"}


def test_the_feed_answers_304_while_nothing_changed_and_200_after_a_change(api, company, ticker):
    person_id = person()
    message = schedule_in_app(api, company, person_id, "x")
    ticker.at(soon(5))
    first = inbox(api, company, person_id)
    etag = first.headers["ETag"]

    unchanged = inbox(api, company, person_id, headers={"If-None-Match": etag})
    api.request("POST", f"/v1/people/{person_id}/inbox/{message['id']}/read", company)
    changed = inbox(api, company, person_id, headers={"If-None-Match": etag})

    assert unchanged.status == 304 and unchanged.text == "" and unchanged.headers["ETag"] == etag
    assert changed.status == 200 and changed.headers["ETag"] != etag
    assert changed.json()["meta"]["unread"] == 0


def test_a_persons_token_reads_and_marks_only_their_own_inbox(api, company, ticker):
    mine, theirs = person(), person()
    message = schedule_in_app(api, company, mine, "private")
    other = schedule_in_app(api, company, theirs, "not yours")
    ticker.at(soon(5))
    token = token_for(api, company, mine)

    own = api.request("GET", f"/v1/people/{mine}/inbox", headers=bearer(token))
    marked = api.request("POST", f"/v1/people/{mine}/inbox/{message['id']}/read", headers=bearer(token))
    elsewhere = api.request("GET", f"/v1/people/{theirs}/inbox", headers=bearer(token))
    mark_elsewhere = api.request("POST", f"/v1/people/{theirs}/inbox/{other['id']}/read", headers=bearer(token))
    messages = api.request("GET", "/v1/messages", headers=bearer(token))
    mint = api.request("POST", f"/v1/people/{theirs}/inbox/token", headers=bearer(token))

    assert own.status == 200 and [e["id"] for e in own.json()["data"]] == [message["id"]]
    assert marked.status == 200 and marked.json()["status"] == "read"
    assert elsewhere.status == 404 and "not yours" not in elsewhere.text
    assert mark_elsewhere.status == 404
    assert inbox(api, company, theirs).json()["meta"]["unread"] == 1
    assert messages.status == 403 and mint.status == 403


def test_a_tampered_or_foreign_token_is_a_401_that_reveals_nothing(api, company, make_company):
    person_id = person()
    token = token_for(api, company, person_id)
    prefix, encoded_person, mac = token.split(".")
    tampered = f"{prefix}.{encoded_person}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    forged = person_token(b"not the stack's secret", company.id, person_id)
    other = make_company()
    other_token = token_for(api, other, person_id)

    replies = [
        api.request("GET", f"/v1/people/{person_id}/inbox", headers=bearer(candidate))
        for candidate in (tampered, forged, token[:-1], "spt_garbage")
    ]
    crossed = api.request("GET", f"/v1/people/{person_id}/inbox", headers=bearer(other_token))

    assert [reply.status for reply in replies] == [401, 401, 401, 401]
    assert len({reply.text for reply in replies}) == 1
    assert crossed.status == 200 and crossed.json()["data"] == []  # the other company's inbox of that id: empty


def test_bad_inbox_input_is_a_422_naming_the_field(api, company):
    person_id = person()

    status = inbox(api, company, person_id, "?status=deleted")
    unknown = inbox(api, company, person_id, "?unread=1")
    not_a_person = schedule_in_app(api, company, person_id, "x", status=422, recipient="someone-else")
    missing = api.request("POST", f"/v1/people/{person_id}/inbox/{uuid.uuid4()}/read", company)

    assert status.status == 422 and status.json()["message"].startswith("status")
    assert unknown.status == 422 and unknown.json()["message"].startswith("unread")
    assert not_a_person["message"].startswith("recipient must be the person_id")
    assert missing.status == 404


def test_a_hipaa_in_app_message_needs_a_phi_safe_template(api, company):
    refused = schedule_in_app(api, company, person(), "x", status=422, hipaa=True)

    assert refused["message"].startswith("template_key is not marked phi_safe")


def test_inbox_scopes_are_checked(api, make_company):
    reader = make_company(scopes=("in_app:read",))
    person_id = person()

    assert inbox(api, reader, person_id).status == 200
    assert api.request("POST", f"/v1/people/{person_id}/inbox/read-all", reader).status == 403
    assert composition.inbox_store().head(reader.id, person_id).version == 0
