"""GET /v1/openapi.json and /v1/docs: the API's OpenAPI 3.1 document and Swagger UI (no key needed)."""

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from scheduled_comms.http import Router, ServiceResolver, api_handler

router = Router()
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


@router.get("/v1/openapi.json", summary="The OpenAPI document", tags=["documentation"], include_in_schema=False)
def openapi_route() -> dict[str, Any]:
    context = router.current_event.raw_event.get("requestContext") or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if not domain or not stage:
        return document()
    # Deployed, the API lives under its stage: point "Try it out" there.
    return {**document(), "servers": [{"url": f"https://{domain}/{stage}"}]}


@router.get("/v1/docs", summary="Swagger UI", tags=["documentation"], include_in_schema=False)
def docs_route() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=SWAGGER_UI)


app = ServiceResolver(router)
lambda_handler = api_handler(app)
