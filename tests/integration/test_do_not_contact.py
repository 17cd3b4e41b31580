"""The do-not-contact list: kept through the API, checked by the dispatcher at send time on every path."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from scheduled_comms import composition

from tests.integration.conftest import outbox_for, soon, unique_email
from tests.integration.test_dispatch import email_now, fetch, schedule
from tests.integration.test_messages import company as messages_company  # noqa: F401
from tests.integration.test_messages import spec_example_body

LIST = "/v1/do-not-contact"


def entry_path(channel: str, address: str) -> str:
    return f"{LIST}/{channel}/{quote(address, safe='@')}"


def suppress(api, company, channel: str, address: str, **body) -> dict:
    reply = api.request("PUT", entry_path(channel, address), company, body)
    assert reply.status == 200, reply.text
    return reply.json()["data"]


def balance(company) -> int:
    return composition.credit_ledger().balance(company.id, consistent=True)


def sms_now(number: str) -> dict:
    from tests.integration.test_create import sms_body

    body = sms_body(scheduled_for=soon(1).isoformat(), respect_business_hours=False)
    body["payload"]["to_number"] = number
    return body


def test_an_entry_is_stored_normalised_listed_replaced_and_removed(api, make_company):
    company = make_company()
    address = unique_email().replace("person", "Person")

    first = suppress(api, company, "email", address, reason="opt_out_reply")
    again = suppress(api, company, "email", address.upper(), reason="complaint")

    assert first["address"] == again["address"] == address.lower()
    listed = api.request("GET", LIST, company).json()
    assert [(e["channel"], e["address"], e["reason"], e["source"]) for e in listed["data"]] == [
        ("email", address.lower(), "complaint", "api")
    ]
    assert api.request("DELETE", entry_path("email", address), company).status == 204
    assert api.request("GET", LIST, company).json()["data"] == []
    gone = api.request("DELETE", entry_path("email", address), company)
    assert gone.status == 404 and gone.json()["error"]["code"] == "not_found"


def test_the_list_pages_with_a_cursor_in_address_order(api, make_company):
    company = make_company()
    numbers = [f"+1415555{n:04d}" for n in range(120, 125)]
    for number in reversed(numbers):
        suppress(api, company, "sms", number)

    first = api.request("GET", f"{LIST}?limit=3", company).json()
    second = api.request("GET", f"{LIST}?limit=3&cursor={first['meta']['next_cursor']}", company).json()

    assert [e["address"] for e in first["data"] + second["data"]] == numbers
    assert second["meta"]["next_cursor"] is None
    other = make_company()
    reused = api.request("GET", f"{LIST}?cursor={first['meta']['next_cursor']}", other)
    assert reused.status == 400 and reused.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("channel", "address", "field"),
    [
        ("email", "not-an-address", "address"),
        ("sms", "4155550100", "address"),
        ("voice", "someone@example.com", "address"),
        ("fax", "+14155550100", "channel"),
    ],
)
def test_a_bad_channel_or_address_is_a_422_naming_it_and_nothing_is_written(api, make_company, channel, address, field):
    company = make_company()
    reply = api.request("PUT", entry_path(channel, address), company, {})
    assert reply.status == 422, reply.text
    assert [detail["field"].split(".")[-1] for detail in reply.json()["error"]["details"]] == [field]
    assert api.request("GET", LIST, company).json()["data"] == []


def test_an_expiry_in_the_past_is_refused(api, make_company):
    company = make_company()
    reply = api.request("PUT", entry_path("sms", "+14155550100"), company, {"expires_at": "2020-01-01T00:00:00Z"})
    assert reply.status == 422
    assert [detail["field"] for detail in reply.json()["error"]["details"]] == ["expires_at"]


def test_another_companys_entries_are_neither_seen_nor_removed_nor_applied(api, make_company, ticker):
    owner, other = make_company(), make_company()
    address = unique_email()
    suppress(api, owner, "email", address)

    assert api.request("GET", LIST, other).json()["data"] == []
    assert api.request("DELETE", entry_path("email", address), other).status == 404
    body = email_now()
    body["payload"]["to_email"] = address
    row = schedule(api, other, body)
    ticker.at(soon(5))
    assert fetch(api, other, row["id"])["status"] == "dispatched"


def test_the_routes_need_their_scopes(api, make_company):
    company = make_company(scopes=("dispatcher:read",))
    assert api.request("GET", LIST, company).status == 403
    assert api.request("PUT", entry_path("sms", "+14155550100"), company, {}).status == 403


def test_an_address_suppressed_after_its_row_was_created_is_skipped_at_send_with_its_credit_back(
    api, make_company, ticker
):
    company = make_company(credits=10)
    body = email_now()
    row = schedule(api, company, body)
    assert balance(company) == 9
    suppress(api, company, "email", body["payload"]["to_email"].upper(), reason="complaint")

    ticker.at(soon(5))

    data = fetch(api, company, row["id"])
    assert (data["status"], data["skip_reason"], data["attempt_count"]) == ("skipped", "do_not_contact", 0)
    assert outbox_for(body["payload"]["to_email"]) == []
    assert balance(company) == 10


def test_all_stops_every_channel_and_one_channel_only_itself(api, make_company, ticker):
    company = make_company()
    everything, calls_only = "+14155550181", "+14155550182"
    suppress(api, company, "all", everything)
    suppress(api, company, "voice", calls_only)

    stopped = schedule(api, company, sms_now(everything))
    allowed = schedule(api, company, sms_now(calls_only))
    ticker.at(soon(5))

    assert fetch(api, company, stopped["id"])["status"] == "skipped"
    assert fetch(api, company, allowed["id"])["status"] == "dispatched"


def test_an_entry_that_lapsed_no_longer_stops_a_send(api, make_company, ticker):
    company = make_company()
    body = email_now()
    row = schedule(api, company, body)
    suppress(api, company, "email", body["payload"]["to_email"], expires_at=soon(2).isoformat())

    ticker.at(soon(5))

    assert fetch(api, company, row["id"])["status"] == "dispatched"


def test_a_removed_entry_lets_later_rows_through(api, make_company, ticker):
    company = make_company()
    body = email_now()
    suppress(api, company, "email", body["payload"]["to_email"])
    api.request("DELETE", entry_path("email", body["payload"]["to_email"]), company)

    row = schedule(api, company, body)
    ticker.at(soon(5))

    assert fetch(api, company, row["id"])["status"] == "dispatched"


def test_a_templated_message_to_a_suppressed_address_is_skipped_and_not_sent(api, messages_company, ticker):  # noqa: F811
    body = spec_example_body()
    message = api.request("POST", "/v1/messages/schedule", messages_company, body).json()
    suppress(api, messages_company, "email", body["recipient"])

    ticker.at(soon(5))

    stored = api.request("GET", f"/v1/messages/{message['id']}", messages_company).json()
    assert stored["status"] == "skipped"
    assert outbox_for(body["recipient"]) == []


def test_a_csv_import_writes_every_line_or_none(api, make_company):
    company = make_company()
    good = "channel,address,reason,expires_at\nemail,A@Example.com,bounce,\nsms,+14155550190,opt_out_reply,2099-01-01T00:00:00Z\n"
    reply = api.request("POST", f"{LIST}/import", company, body=good, headers={"Content-Type": "text/csv"})
    assert reply.status == 201, reply.text
    assert reply.json()["data"]["imported"] == 2
    listed = {(e["channel"], e["address"]) for e in api.request("GET", LIST, company).json()["data"]}
    assert listed == {("email", "a@example.com"), ("sms", "+14155550190")}

    other = make_company()
    bad = "channel,address\nemail,ok@example.com\nsms,12\nfax,+14155550191\n"
    refused = api.request("POST", f"{LIST}/import", other, body=bad, headers={"Content-Type": "text/csv"})
    assert refused.status == 422, refused.text
    fields = [d["field"] for d in refused.json()["error"]["details"]]
    assert fields == ["line 3.address", "line 4.channel"]
    assert api.request("GET", LIST, other).json()["data"] == []


def test_a_json_import_names_each_bad_entry_and_writes_none_or_all(api, make_company):
    company = make_company()
    bad = {"entries": [{"channel": "sms", "address": "+14155550192"}, {"channel": "email", "address": "x", "extra": 1}]}
    refused = api.request("POST", f"{LIST}/import", company, bad)
    assert refused.status == 422, refused.text
    assert {d["field"] for d in refused.json()["error"]["details"]} == {"entries[1].address", "entries[1].extra"}
    assert api.request("GET", LIST, company).json()["data"] == []

    good = {"entries": [{"channel": "all", "address": "+14155550192", "reason": "requested"}]}
    reply = api.request("POST", f"{LIST}/import", company, good)
    assert reply.status == 201 and reply.json()["data"]["imported"] == 1
    assert [e["channel"] for e in api.request("GET", LIST, company).json()["data"]] == ["all"]


def test_a_row_due_long_after_the_entry_is_still_checked(api, make_company, ticker):
    company = make_company()
    number = "+14155550183"
    suppress(api, company, "sms", number, expires_at=soon(86_400 * 30).isoformat())
    body = sms_now(number)
    body["scheduled_for"] = soon(86_400).isoformat()
    row = schedule(api, company, body)

    ticker.at(soon(86_400) + timedelta(seconds=5))

    assert fetch(api, company, row["id"])["status"] == "skipped"


def test_a_callee_who_asks_on_the_call_is_not_called_again_by_the_cadence(api, make_company, ticker, fresh_simulator):
    from tests.integration.test_cadence import _dispatched_call, _signed
    from tests.integration.test_create import COLLECTION

    secret = "s" * 32
    company, first, outcome = _dispatched_call(api, make_company, ticker, fresh_simulator, secret)
    outcome.update(answered=True, talk_seconds=4, end_reason="completed", do_not_call=True)

    assert _signed(api, outcome, secret).status == 200
    assert _signed(api, outcome, secret).status == 200  # a replay adds nothing twice

    number = first["payload"]["to_number"]
    entries = api.request("GET", LIST, company).json()["data"]
    assert [(e["channel"], e["address"], e["reason"], e["source"]) for e in entries] == [
        ("voice", number, "requested_on_call", "voice_outcome")
    ]
    rows = api.request("GET", f"{COLLECTION}?contact_id={first['contact_id']}", company).json()["data"]
    follow_up = next(r for r in rows if r["cadence_attempt"] == 2)
    ticker.at(datetime.fromisoformat(follow_up["scheduled_for"]) + timedelta(seconds=1))
    skipped = fetch(api, company, follow_up["id"])
    assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "do_not_contact")


def ses_event(company_id: str, kind: str, recipients: list[str], bounce_type: str = "Permanent") -> dict:
    import json

    from tests.conftest import load_event

    event = load_event("ses_feedback.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["eventType"] = kind
    message["mail"]["tags"]["company_id"] = [company_id]
    listed = [{"emailAddress": address} for address in recipients]
    if kind == "Bounce":
        message["bounce"].update(bounceType=bounce_type, bouncedRecipients=listed)
    else:
        message.pop("bounce")
        message["complaint"] = {"complainedRecipients": listed, "complaintFeedbackType": "abuse"}
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def test_ses_permanent_bounces_and_complaints_suppress_the_address_and_transient_bounces_do_not(
    api, make_company, stack, ticker
):
    from scheduled_comms_local.lambda_host import FunctionHost

    company = make_company()
    bounced, complained, full_mailbox = unique_email(), unique_email(), unique_email()
    host = FunctionHost(stack)

    host.invoke("SesFeedbackFunction", ses_event(company.id, "Bounce", [bounced.upper()]))
    host.invoke("SesFeedbackFunction", ses_event(company.id, "Complaint", [complained]))
    host.invoke("SesFeedbackFunction", ses_event(company.id, "Bounce", [full_mailbox], bounce_type="Transient"))

    listed = {(e["address"], e["reason"], e["source"]) for e in api.request("GET", LIST, company).json()["data"]}
    assert listed == {(bounced, "bounce", "ses_feedback"), (complained, "complaint", "ses_feedback")}
    rows = {}
    for address in (bounced, full_mailbox):
        body = email_now()
        body["payload"]["to_email"] = address
        rows[address] = schedule(api, company, body)["id"]
    ticker.at(soon(5))
    assert fetch(api, company, rows[bounced])["status"] == "skipped"
    assert fetch(api, company, rows[full_mailbox])["status"] == "dispatched"


def test_every_email_names_the_configuration_set_and_its_company_for_the_feedback(api, make_company, ticker, stack):
    from scheduled_comms.adapters.aws import sending_client

    seen: list[dict] = []

    def record(params, **_):
        seen.append(params)

    ses = sending_client("sesv2")
    ses.meta.events.register("before-parameter-build.sesv2.SendEmail", record)
    try:
        company = make_company()
        body = email_now()
        schedule(api, company, body)
        ticker.at(soon(5))
    finally:
        ses.meta.events.unregister("before-parameter-build.sesv2.SendEmail", record)

    mine = [p for p in seen if body["payload"]["to_email"] in str(p["Destination"])]
    assert len(mine) == 1
    assert mine[0]["ConfigurationSetName"] == stack.physical_name("SendingConfigurationSet")
    assert {"Name": "company_id", "Value": company.id} in mine[0]["EmailTags"]


def test_overlapping_ticks_never_send_to_a_suppressed_address_and_return_each_credit_once(
    api, make_company, ticker, isolated_tables
):
    from concurrent.futures import ThreadPoolExecutor

    from scheduled_comms_local.lambda_host import scheduled_event

    company = make_company(credits=100)
    kept_out, allowed = "+16175550184", "+16175550185"  # outside the range seeded rows use
    due = soon(60)  # after the entry is put, whatever else runs meanwhile
    bodies = {number: {**sms_now(number), "scheduled_for": due.isoformat()} for number in (kept_out, allowed)}
    rows = {number: [schedule(api, company, body)["id"] for _ in range(15)] for number, body in bodies.items()}
    suppress(api, company, "sms", kept_out)
    assert balance(company) == 70
    moment = due + timedelta(seconds=5)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ticker.run(scheduled_event(moment, single_pass=True)).summary(), range(8)))

    assert {fetch(api, company, row_id)["status"] for row_id in rows[kept_out]} == {"skipped"}
    assert {fetch(api, company, row_id)["status"] for row_id in rows[allowed]} == {"dispatched"}
    assert outbox_for(kept_out) == []
    assert len(outbox_for(allowed)) == 15
    assert balance(company) == 85  # each suppressed row's credit back exactly once
