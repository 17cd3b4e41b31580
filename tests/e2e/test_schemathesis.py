"""schemathesis against every operation of the committed OpenAPI document, over HTTP to the local stack.

Every default check runs (no 5xx, status codes, content types and bodies as documented, unsupported
methods answered 405, ...). The one configuration: a schema-valid request may still be refused with a
documented 4xx for rules JSON Schema cannot state - a time in the past, a number that is not a real
phone number, a zone name that does not exist, a window ending before it starts, a cursor this API
did not sign, a row that is not pending or not found - and, for the provider webhook, a 401 when the
HMAC signature (a credential schemathesis cannot compute) does not verify.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from scheduled_comms_cli.openapi import DOCUMENT_PATHS
from schemathesis.config import SchemathesisConfig

CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", "400", "401", "402", "404", "409", "422"]}}}
)
schema = schemathesis.openapi.from_path(str(DOCUMENT_PATHS[0]), config=CONFIG)


@schema.parametrize()
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_and_never_fails(case, service):
    headers = {"Authorization": f"Bearer {service.info['api_key']}"}
    case.call_and_validate(base_url=service.url, headers=headers)
