"""``IdempotencyGuard`` on Powertools' idempotency utility with its DynamoDB persistence layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from scheduled_comms.adapters.aws import client as aws_client
from scheduled_comms.errors import IdempotencyInProgress, IdempotencyKeyReused


class PowertoolsIdempotency:
    def __init__(self, table_name: str, ttl_seconds: int, client: Any | None = None) -> None:
        self._persistence = DynamoDBPersistenceLayer(
            table_name=table_name, boto3_client=client or aws_client("dynamodb")
        )
        self._config = IdempotencyConfig(
            event_key_jmespath="[scope, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_seconds,
        )

    def register_lambda_context(self, context: LambdaContext) -> None:
        self._config.register_lambda_context(context)

    def run(self, scope: str, key: str, body: Any, operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        @idempotent_function(data_keyword_argument="request", persistence_store=self._persistence, config=self._config)
        def create_once(request: dict[str, Any]) -> dict[str, Any]:
            return operation()

        try:
            return create_once(request={"scope": scope, "key": key, "body": body})
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise IdempotencyInProgress(
                "A request with this Idempotency-Key is still being processed; retry shortly"
            ) from exc
