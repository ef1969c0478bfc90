"""Test infrastructure shared by every tier (not tests themselves): one factory per record
(`support.factories`), one builder per event (`support.events`), the IAM check (`support.iam`)."""
