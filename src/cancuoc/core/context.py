"""Request context that deep code needs without threading the request through.

Only the client address lives here; it is what the audit log records.
"""

from contextvars import ContextVar

client_address: ContextVar[str | None] = ContextVar("client_address", default=None)
