"""The s2s command: the client for people and MIS scripts, and the local stack."""
