"""GET /v1/openapi.json and /v1/docs: the API's OpenAPI 3.1 document and Swagger UI (no key needed).

A plain handler rather than a resolver: both routes serve fixed content, and should start fast.
"""

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.observability import logger

SWAGGER_UI = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Scheduled communications API</title>
  <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script>
</body>
</html>
"""


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return dict(json.loads(resources.files("scheduled_comms.http").joinpath("openapi.json").read_text()))


def served_document(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if not domain or not stage:
        return document()
    # Deployed, the API lives under its stage: point "Try it out" there.
    return {**document(), "servers": [{"url": f"https://{domain}/{stage}"}]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("resource") == "/v1/docs":
        content_type, body = "text/html", SWAGGER_UI
    else:
        content_type, body = "application/json", json.dumps(served_document(event), separators=(",", ":"))
    return {"statusCode": 200, "headers": {"Content-Type": content_type}, "body": body, "isBase64Encoded": False}
