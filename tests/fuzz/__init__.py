"""Schemathesis fuzzing of the HTTP API (the OpenAPI document) against the local stack."""
