"""Campaign pages, one module per feature (citizens' portal pages live in portal.py)."""
