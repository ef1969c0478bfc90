"""Shared code for every S2S function: domain logic (naming protocol, identifiers, zip inspection,
transfer state machine, reports, LRS mapping) and thin adapters for AWS. Nothing here knows about
HTTP except `s2s.runtime.http`, which turns domain errors into the spec's error body."""
