"""schemathesis against every operation of the committed OpenAPI document, over HTTP to the local stack.

Two runs. The positive run sends schema-valid requests with every default check (no 5xx, status codes,
content types and bodies as documented, unsupported methods answered 405, ...). Its one configuration:
a schema-valid request may still be refused with a documented 4xx for rules JSON Schema cannot state -
a time in the past, a number that is not a real phone number, a zone name that does not exist, a window
ending before it starts, a cursor this API did not sign, a row that is not pending or not found - and,
for the provider webhook, a 401 when the HMAC signature (a credential schemathesis cannot compute) does
not verify.

The negative run sends requests that break the schema (wrong types, missing and extra fields, values
out of range, malformed parameters) and checks each is refused with a 4xx, never accepted or a 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from scheduled_comms_cli.openapi import DOCUMENT_PATHS
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import GenerationMode, ParameterLocation

pytestmark = pytest.mark.slow

ACCEPTANCE = {"positive_data_acceptance": {"expected-statuses": ["2XX", "400", "401", "402", "404", "409", "422"]}}
REJECTION = {"negative_data_rejection": {"expected-statuses": ["400", "401", "404", "405", "413", "415", "422"]}}
# The positive run's coverage phase sends some schema-breaking cases too: they are judged as the negative run's.
POSITIVE = SchemathesisConfig.from_dict({"checks": {**ACCEPTANCE, **REJECTION}})
NEGATIVE = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "negative"},
        # A mutation that happens to stay schema-valid is judged as the positive run judges it.
        "checks": {**ACCEPTANCE, **REJECTION},
    }
)
schema = schemathesis.openapi.from_path(str(DOCUMENT_PATHS[0]), config=POSITIVE)
# GET /v1/health takes no input at all, so there is nothing in it to break.
negative_schema = schemathesis.openapi.from_path(str(DOCUMENT_PATHS[0]), config=NEGATIVE).exclude(path="/v1/health")


@schema.parametrize()
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_and_never_fails(case, service):
    headers = credentials(case, service)
    if dropped_by_requests(case):
        case.call_and_validate(base_url=service.url, headers=headers, checks=[not_a_server_error])
    else:
        case.call_and_validate(base_url=service.url, headers=headers)


def credentials(case, service) -> dict[str, str]:
    """The API key's header, unless the case broke its headers: it is then sent as generated, since adding
    the key would mend it (a missing key is a 401). The positive run's coverage phase breaks headers too."""
    components = case.meta.components if case.meta else {}
    broken = {where for where, info in components.items() if info.mode is GenerationMode.NEGATIVE}
    return {} if ParameterLocation.HEADER in broken else {"Authorization": f"Bearer {service.info['api_key']}"}


def dropped_by_requests(case) -> bool:
    """Whether what goes out is not the case schemathesis judges: a query parameter whose value is null
    (requests drops it), or a number or boolean (a query string has only text: ``brand_id=0`` is the text
    "0", which may well be valid). Both runs' cases, the positive run's coverage phase included."""
    return any(value is None or not isinstance(value, str | list) for value in (case.query or {}).values())


@negative_schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_refuses_what_breaks_its_schema(case, service):
    headers = credentials(case, service)
    if dropped_by_requests(case):
        case.call_and_validate(base_url=service.url, headers=headers, checks=[not_a_server_error])
    else:
        case.call_and_validate(base_url=service.url, headers=headers)
