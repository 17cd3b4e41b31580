"""Whatever arrives, the answer is never a 5xx, and every error has the service's shape."""

from __future__ import annotations

import copy
import json
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_create import COLLECTION, email_body, sms_body, voice_body

ROW = "01a209ba-22c7-7214-ac0f-bf949cf72d96"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))


@st.composite
def mutated_bodies(draw):
    body = draw(st.sampled_from([email_body, sms_body, voice_body]))()
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(body))))
        target = body
        for key in path[:-1]:
            target = target[key]
        if draw(st.booleans()):
            target[path[-1]] = draw(json_values)
        else:
            target.pop(path[-1], None)
        body = copy.deepcopy(body)
    return json.dumps(body)


bodies = st.one_of(
    st.none(),
    mutated_bodies(),
    json_values.map(json.dumps),
    st.text(max_size=200),
)
segments = st.one_of(st.just(ROW), st.text(min_size=1, max_size=40).map(lambda s: quote(s, safe="")))
paths = st.one_of(
    st.just(COLLECTION),
    segments.map(lambda s: f"{COLLECTION}/{s}"),
    segments.map(lambda s: f"{COLLECTION}/{s}/dispatch-now"),
    st.just("/v1/health"),
    st.text(max_size=30).map(lambda s: "/" + quote(s)),
)
queries = st.dictionaries(
    st.sampled_from(["status", "channel", "contact_id", "deal_id", "customer_id", "limit", "cursor", "x"]),
    st.text(max_size=60),
    max_size=4,
)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded"]
)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]),
    path=paths,
    query=queries,
    body=bodies,
    content_type=content_types,
    idempotency_key=st.one_of(st.none(), st.text(max_size=20)),
)
def test_no_request_gets_a_server_error(api, make_company, method, path, query, body, content_type, idempotency_key):
    company = _company(make_company)
    headers = {"Content-Type": content_type} if content_type else {}
    if idempotency_key is not None and idempotency_key.isprintable():
        headers["Idempotency-Key"] = idempotency_key
    url = f"{path}?{urlencode(query)}" if query else path

    reply = api.request(method, url, company, body=body, headers=headers)

    assert reply.status < 500, (method, url, body, reply.text)
    if reply.status >= 400:
        error = reply.json()["error"]
        assert isinstance(error["code"], str) and error["message"]
        assert all(set(detail) == {"field", "message"} for detail in error["details"])


_companies: list = []


def _company(make_company):
    if not _companies:
        _companies.append(make_company(credits=10_000))
    return _companies[0]
