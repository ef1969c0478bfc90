"""The base of every API model: schemas are built on first use, not at import, so a cold start
pays only for the models the request it serves needs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
