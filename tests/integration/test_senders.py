"""Users' email senders: registered per user in the company's sender domain, named by an email row's
``payload.sender_user_id`` (checked at create and PATCH), and used by the tick for the From address and name."""

from __future__ import annotations

import uuid

import pytest
from scheduled_comms import composition
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import SenderSettings

from tests.integration.conftest import outbox_for, soon
from tests.integration.test_create import COLLECTION
from tests.integration.test_dispatch import email_now, fetch, schedule

DOMAIN = "example.com"  # verified in SES by the session's stack


def company_with_sender(make_company, **kwargs):
    company = make_company(**kwargs)
    composition.directory().put_sender_settings(
        company.id, SenderSettings(default_from_email=f"team@{DOMAIN}"), now_utc()
    )
    return company


def put_sender(api, company, user_id: str, **body):
    return api.request("PUT", f"/v1/senders/{user_id}", company, body)


def test_a_users_sender_is_set_read_listed_replaced_and_removed(api, make_company):
    company = company_with_sender(make_company)
    user_id = str(uuid.uuid4())

    created = put_sender(api, company, user_id, from_email=f"sarah@{DOMAIN}", from_name="Sarah at Acme")
    read = api.request("GET", f"/v1/senders/{user_id}", company)
    replaced = put_sender(api, company, user_id, from_email=f"s.jones@{DOMAIN}")
    listed = api.request("GET", "/v1/senders", company)
    removed = api.request("DELETE", f"/v1/senders/{user_id}", company)
    gone = api.request("GET", f"/v1/senders/{user_id}", company)
    removed_again = api.request("DELETE", f"/v1/senders/{user_id}", company)

    assert created.status == 200, created.text
    assert read.json()["data"] == created.json()["data"]
    assert {k: created.json()["data"][k] for k in ("user_id", "from_email", "from_name")} == {
        "user_id": user_id,
        "from_email": f"sarah@{DOMAIN}",
        "from_name": "Sarah at Acme",
    }
    assert (replaced.json()["data"]["from_email"], replaced.json()["data"]["from_name"]) == (f"s.jones@{DOMAIN}", None)
    assert [s["user_id"] for s in listed.json()["data"]] == [user_id]
    assert removed.status == 204 and removed.text == ""
    assert gone.status == 404 and gone.json()["error"]["code"] == "not_found"
    assert removed_again.status == 404


@pytest.mark.parametrize(
    ("sender_domain", "body", "field", "message"),
    [
        (DOMAIN, {"from_email": "sarah@elsewhere.example"}, "from_email", f"company's sender ({DOMAIN})"),
        (None, {"from_email": f"sarah@{DOMAIN}"}, "from_email", "none is set"),
        (DOMAIN, {"from_email": "not an address"}, "from_email", "not a valid email address"),
        (DOMAIN, {"from_email": f"sarah@{DOMAIN}", "from_name": "Sarah\r\nBcc: all"}, "from_name", "line breaks"),
        (DOMAIN, {"from_email": f"sarah@{DOMAIN}", "reply_to": "x@example.com"}, "reply_to", "not a recognised"),
    ],
    ids=["other-domain", "no-company-sender", "not-an-address", "header-injection", "unknown-field"],
)
def test_a_sender_outside_the_rules_is_a_422_naming_the_field(api, make_company, sender_domain, body, field, message):
    company = company_with_sender(make_company) if sender_domain else make_company()
    user_id = str(uuid.uuid4())

    reply = put_sender(api, company, user_id, **body)

    assert reply.status == 422, reply.text
    assert [d["field"] for d in reply.json()["error"]["details"]] == [field]
    assert message in reply.json()["error"]["details"][0]["message"]
    assert api.request("GET", f"/v1/senders/{user_id}", company).status == 404


def test_a_user_id_that_is_not_a_uuid_is_a_422_naming_it(api, make_company):
    company = company_with_sender(make_company)

    for method in ("GET", "PUT", "DELETE"):
        reply = api.request(method, "/v1/senders/sarah", company, {"from_email": f"s@{DOMAIN}"})

        assert reply.status == 422, (method, reply.text)
        assert [d["field"] for d in reply.json()["error"]["details"]] == ["user_id"]


def test_senders_are_per_company(api, make_company):
    owner, other = company_with_sender(make_company), company_with_sender(make_company)
    user_id = str(uuid.uuid4())
    put_sender(api, owner, user_id, from_email=f"sarah@{DOMAIN}")

    assert api.request("GET", f"/v1/senders/{user_id}", other).status == 404
    assert api.request("DELETE", f"/v1/senders/{user_id}", other).status == 404
    assert api.request("GET", "/v1/senders", other).json()["data"] == []
    assert api.request("GET", f"/v1/senders/{user_id}", owner).status == 200


@pytest.mark.parametrize(
    ("method", "path", "scopes", "status"),
    [
        ("GET", "/v1/senders", ("dispatcher:write", "email:send"), 403),
        ("PUT", "/v1/senders/{user}", ("dispatcher:write", "sms:send"), 403),
        ("PUT", "/v1/senders/{user}", ("dispatcher:read", "email:send"), 403),
        ("DELETE", "/v1/senders/{user}", ("dispatcher:write",), 403),
        ("PUT", "/v1/senders/{user}", ("dispatcher:write", "email:send"), 200),
    ],
)
def test_senders_need_their_scopes(api, make_company, method, path, scopes, status):
    company = company_with_sender(make_company, scopes=scopes)

    reply = api.request(method, path.format(user=uuid.uuid4()), company, {"from_email": f"s@{DOMAIN}"})

    assert reply.status == status, reply.text


def test_an_unknown_sender_user_is_a_422_at_create_and_patch_that_spends_nothing(api, make_company):
    company = company_with_sender(make_company, credits=2)
    known = str(uuid.uuid4())
    put_sender(api, company, known, from_email=f"sarah@{DOMAIN}")
    unknown = email_now()
    unknown["payload"]["sender_user_id"] = str(uuid.uuid4())

    refused = api.request("POST", COLLECTION, company, unknown)
    row = schedule(api, company, email_now(payload={**email_now()["payload"], "sender_user_id": known}))
    patched = api.request("PATCH", f"{COLLECTION}/{row['id']}", company, {"payload": unknown["payload"]})

    for reply in (refused, patched):
        assert reply.status == 422, reply.text
        assert [d["field"] for d in reply.json()["error"]["details"]] == ["payload.sender_user_id"]
    assert composition.credit_ledger().balance(company.id, consistent=True) == 1
    assert fetch(api, company, row["id"])["payload"]["sender_user_id"] == known


def test_the_tick_sends_from_the_users_sender(api, make_company, ticker):
    company = company_with_sender(make_company)
    user_id = str(uuid.uuid4())
    put_sender(api, company, user_id, from_email=f"sarah@{DOMAIN}", from_name="Sarah Jones")
    by_user = schedule(api, company, email_now(payload={**email_now()["payload"], "sender_user_id": user_id}))
    own_address = email_now(payload={**email_now()["payload"], "sender_user_id": user_id})
    own_address["payload"]["from_email"] = f"deals@{DOMAIN}"
    with_address = schedule(api, company, own_address)
    plain = schedule(api, company, email_now())
    composition.reset()  # the tick's directory caches settings

    ticker.at(soon(5))

    sent_from = {row["id"]: outbox_for(row["payload"]["to_email"])[0]["from"] for row in (by_user, with_address, plain)}
    assert sent_from == {
        by_user["id"]: f"Sarah Jones <sarah@{DOMAIN}>",
        with_address["id"]: f"Sarah Jones <deals@{DOMAIN}>",  # the payload's address, the user's name
        plain["id"]: f"team@{DOMAIN}",  # the company's default sender
    }


def test_a_sender_removed_after_create_fails_the_row_with_a_clear_error(api, make_company, ticker):
    company = company_with_sender(make_company)
    user_id = str(uuid.uuid4())
    put_sender(api, company, user_id, from_email=f"sarah@{DOMAIN}")
    row = schedule(api, company, email_now(payload={**email_now()["payload"], "sender_user_id": user_id}))
    api.request("DELETE", f"/v1/senders/{user_id}", company)
    composition.reset()

    ticker.at(soon(5))

    failed = fetch(api, company, row["id"])
    assert failed["status"] == "failed"
    assert failed["last_error"] == f"sender_user_id {user_id} has no registered sender"
    assert outbox_for(row["payload"]["to_email"]) == []
