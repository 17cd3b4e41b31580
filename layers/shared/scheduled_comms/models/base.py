"""The base of the service's pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A model whose validator and serializer are built on its first use rather than at import.

    A function imports every model of the modules it reads, and uses a few: building the others would be
    most of its cold start that is not boto3's (pydantic's schema generation, about 40 models).
    """

    model_config = ConfigDict(defer_build=True)
