"""API: forms (placeholder until built)."""

from ninja import Router

router = Router()
