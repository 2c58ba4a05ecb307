"""Argon2id password hashes (argon2-cffi defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _hasher.hash(password)


MIN_LENGTH = 12
MIN_STRENGTH = 3  # zxcvbn's 0-4: "safely unguessable" and above


def password_problems(password: str, *context: str) -> list[str]:
    """Why a new password is refused: too short, or guessable (a common or breached password, a
    keyboard walk, a repeat, the user's own name...: zxcvbn's estimate), empty when it is fine."""
    from zxcvbn import zxcvbn

    password = password or ""
    if len(password) < MIN_LENGTH:
        return [f"a password needs at least {MIN_LENGTH} characters"]
    result = zxcvbn(password[:100], user_inputs=[c for c in context if c] + ["socialcare"])
    if result["score"] < MIN_STRENGTH:
        hint = result["feedback"].get("warning") or "it is too easy to guess"
        return [f"choose a harder password ({hint.rstrip('.').lower()}); a few unrelated words work well"]
    return []


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
