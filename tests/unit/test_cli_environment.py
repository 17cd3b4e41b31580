"""The admin CLI's defaults: a region and dummy credentials only against a local endpoint."""

from __future__ import annotations

import pytest
from scheduled_comms_cli.cli import apply_local_endpoint_defaults


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4566", "http://localhost:4566/", "http://[::1]:4566"])
def test_a_local_endpoint_gets_a_region_and_dummy_credentials(endpoint):
    environ = {"AWS_ENDPOINT_URL": endpoint}

    apply_local_endpoint_defaults(environ)

    assert environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environ["AWS_ACCESS_KEY_ID"] == environ["AWS_SECRET_ACCESS_KEY"] == "testing"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"AWS_ENDPOINT_URL": "https://dynamodb.eu-west-1.amazonaws.com"},
        {"AWS_ENDPOINT_URL": "http://localhost.example.com:4566"},
        {"AWS_ENDPOINT_URL": "http://127.0.0.1.nip.io:4566"},
    ],
)
def test_real_aws_gets_nothing_invented(environ):
    before = dict(environ)

    apply_local_endpoint_defaults(environ)

    assert environ == before


def test_what_is_given_is_kept_against_a_local_endpoint():
    environ = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_REGION": "eu-west-1", "AWS_PROFILE": "dev"}

    apply_local_endpoint_defaults(environ)

    assert environ == {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_REGION": "eu-west-1", "AWS_PROFILE": "dev"}
