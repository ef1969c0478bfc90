"""The rules of the service as plain functions and data, with no AWS, HTTP or Lambda in them:
naming, identifiers, the principal, a transfer's states and counters, zip inspection, emails.
Imports nothing from contracts, services, adapters or runtime."""
