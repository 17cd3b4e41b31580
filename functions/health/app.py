"""GET /v1/health: liveness, without authentication."""

from scheduled_comms.http import ServiceResolver, api_handler
from scheduled_comms.models.api import HealthResponse
from scheduled_comms.models.domain import now_utc
from scheduled_comms.settings import get_settings

app = ServiceResolver()


@app.get("/v1/health", summary="Liveness check", tags=["health"])
def health() -> HealthResponse:
    return HealthResponse(status="ok", version=get_settings().service_version, time=now_utc())


lambda_handler = api_handler(app)
