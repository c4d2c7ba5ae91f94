"""LINE webhook signatures: Base64(HMAC-SHA256(channel secret, raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of the x-line-signature header."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"), signature.strip().encode("ascii", "replace"))
