"""Passwords: argon2id hashes (argon2-cffi) and the complexity rule of 等保 2.0 for identification."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_CLASSES = 3

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-Zq9!")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(encoded: str | None, password: str) -> bool:
    """True when `password` matches; a missing or damaged hash never matches (and takes as long)."""
    try:
        return _hasher.verify(encoded or _DUMMY_HASH, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    return _hasher.check_needs_rehash(encoded)


def check_complexity(password: str, *, username: str | None) -> None:
    """Raises Invalid (422, Chinese message) unless the password is long and varied enough."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"长度至少 {MIN_LENGTH} 位")
    if len(password) > MAX_LENGTH:
        problems.append(f"长度不超过 {MAX_LENGTH} 位")
    classes = sum(
        (
            any(c.islower() and c.isascii() for c in password),
            any(c.isupper() and c.isascii() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < MIN_CLASSES:
        problems.append("须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("不得包含用户名")
    if password and len(set(password)) <= 2:
        problems.append("不得由重复字符组成")
    if problems:
        raise Invalid("密码不符合复杂度要求：" + "；".join(problems), code="weak_password")
