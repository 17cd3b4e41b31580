"""Which sender an email row goes out from: the user's, the payload's address, the company's, the service's."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from scheduled_comms.errors import SenderRefused
from scheduled_comms.logic.email_sender import EmailSender, choose_email_sender
from scheduled_comms.models.domain import now_utc
from scheduled_comms.models.registry import SenderSettings, UserSender

USER = "3b0c7f38-8d0b-4f0e-a7a5-2a4c2b1e9d11"


@dataclass
class Senders:
    company_sender: str | None = "team@acme.example"
    users: dict[str, UserSender] = field(default_factory=dict)

    def sender_settings(self, company_id: str) -> SenderSettings:
        return SenderSettings(default_from_email=self.company_sender)

    def user_sender(self, company_id: str, user_id: str) -> UserSender | None:
        return self.users.get(user_id)


def with_user(from_email: str = "sarah@acme.example", from_name: str | None = "Sarah Jones", **kwargs) -> Senders:
    user = UserSender(user_id=USER, from_email=from_email, from_name=from_name, updated_at=now_utc())
    return Senders(users={USER: user}, **kwargs)


@pytest.mark.parametrize(
    ("source", "payload", "expected"),
    [
        (with_user(), {"sender_user_id": USER}, EmailSender("sarah@acme.example", "Sarah Jones")),
        (with_user(from_name=None), {"sender_user_id": USER}, EmailSender("sarah@acme.example")),
        (
            with_user(),
            {"sender_user_id": USER, "from_email": "deals@acme.example"},
            EmailSender("deals@acme.example", "Sarah Jones"),
        ),
        (Senders(), {"from_email": "deals@ACME.example"}, EmailSender("deals@ACME.example")),
        (Senders(), {}, EmailSender("team@acme.example")),
        (Senders(company_sender=None), {}, EmailSender("noreply@service.example")),
    ],
    ids=["user", "user-without-name", "payload-address-user-name", "payload-address", "company", "service"],
)
def test_the_sender_follows_the_precedence(source, payload, expected):
    assert choose_email_sender(source, "company", payload, "noreply@service.example") == expected


@pytest.mark.parametrize(
    ("source", "payload", "service_default", "reason"),
    [
        (Senders(), {"sender_user_id": USER}, None, f"sender_user_id {USER} has no registered sender"),
        (with_user(from_email="sarah@old.example"), {"sender_user_id": USER}, None, "domain old.example is not"),
        (Senders(), {"from_email": "x@elsewhere.example"}, None, "domain elsewhere.example is not"),
        (Senders(company_sender=None), {"from_email": "x@acme.example"}, "n@acme.example", "domain acme.example is"),
        (Senders(company_sender=None), {}, None, "no sender address"),
    ],
    ids=["user-removed", "user-outside-domain", "payload-outside-domain", "no-company-domain", "none-at-all"],
)
def test_a_sender_the_company_may_not_use_is_refused_saying_why(source, payload, service_default, reason):
    with pytest.raises(SenderRefused, match=reason):
        choose_email_sender(source, "company", payload, service_default)
