"""How a function runs: settings, logging and metrics (Powertools), the HTTP resolver and its
error map, SQS batches, SnapStart hooks."""
