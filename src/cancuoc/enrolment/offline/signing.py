"""Push-batch signatures. Pure: no Django.

A station signs the raw body of each push batch with HMAC-SHA256. The key is the SHA-256
hex digest of the station's raw API token, which is exactly what the server stores in
``accounts.ApiToken.digest`` (``accounts.services._digest``): the server can check a
signature without ever holding the raw token, and a revoked or replaced token stops
verifying at once. The bearer token proves who calls; the signature proves the body was
not changed on the way (a proxy, a half-written retry file) since the station built it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Cancuoc-Signature"


def token_key(raw_token: str) -> str:
    """The signing key of a raw token: its SHA-256 hex digest, as ApiToken stores it."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def body_digest(body: bytes) -> str:
    """SHA-256 hex of a batch body: what a replay is recognised by."""
    return hashlib.sha256(body).hexdigest()


def body_sign(*, body: bytes, key: str) -> str:
    """Hex HMAC-SHA256 of ``body`` under ``key`` (a token digest)."""
    return hmac.new(key.encode("ascii"), body, hashlib.sha256).hexdigest()


def signature_valid(*, body: bytes, key: str, signature: str) -> bool:
    """Constant-time check of a hex signature; anything malformed is simply invalid."""
    if not signature or not key:
        return False
    return hmac.compare_digest(body_sign(body=body, key=key), signature.strip().lower())
