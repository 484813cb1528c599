"""API: cohort (placeholder until built)."""

from ninja import Router

router = Router()
