"""Citizen-facing records: service ratings, complaints and lookup throttling."""
