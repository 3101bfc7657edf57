"""Secrets at rest (Fernet, key derived with HKDF) and API tokens (random, only their SHA-256 is stored)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import get_settings

TOKEN_PREFIX = "hy_"  # noqa: S105 (a prefix, not a secret)
KEY_FILE = Path("var") / "secret.key"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    a_b = a.encode() if isinstance(a, str) else a
    b_b = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_b, b_b)


def _key_material() -> bytes:
    configured = get_settings().secret_key
    if configured:
        return configured.encode()
    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        KEY_FILE.write_text(secrets.token_urlsafe(48))
        KEY_FILE.chmod(0o600)
    return KEY_FILE.read_text().strip().encode()


@lru_cache
def _fernet(material: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"huiying-secrets", info=b"account-secrets").derive(
        material
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secrets(values: dict[str, str]) -> str:
    return _fernet(_key_material()).encrypt(json.dumps(values, ensure_ascii=False).encode()).decode()


def decrypt_secrets(blob: str | None) -> dict[str, str]:
    if not blob:
        return {}
    try:
        data = _fernet(_key_material()).decrypt(blob.encode())
    except InvalidToken as exc:
        raise RuntimeError("account secrets cannot be decrypted: HUIYING_SECRET_KEY changed?") from exc
    result: dict[str, str] = json.loads(data)
    return result


def csrf_token_for(session_token: str) -> str:
    """The CSRF token that goes with a sign-in session: derived from it (HMAC with the service key), so a
    page can be rendered with it and a request checked against it without storing anything."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"huiying-csrf", info=b"csrf").derive(
        _key_material()
    )
    return hmac.new(key, session_token.encode(), hashlib.sha256).hexdigest()
