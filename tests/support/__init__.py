"""Test infrastructure shared by every tier (not tests themselves)."""
