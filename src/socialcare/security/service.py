"""Sign-in, web sessions, API tokens and user accounts. Services flush; the caller commits.

Tokens (session cookies, API bearer tokens) are random 256-bit strings; only their SHA-256 is
stored, so the database never holds a usable credential.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from socialcare.core.clock import as_utc, utcnow
from socialcare.core.errors import Conflict, InvalidInput, NotFound, Problem
from socialcare.core.settings import get_settings
from socialcare.security import audit
from socialcare.security import repository as repo
from socialcare.security.models import ApiToken, AuditEvent, User, WebSession
from socialcare.security.passwords import hash_password, password_problems, verify_password
from socialcare.security.principal import Principal
from socialcare.security.rules import Role, role_fits_org

WRONG_CREDENTIALS = "That username and password do not match an active account. Check them and try again."
TOO_MANY_ATTEMPTS = (
    "Too many failed sign-ins for this username in the last 15 minutes. Wait 15 minutes, or ask your "
    "administrator to reset your password."
)
SSO_ONLY = ("Your organization signs in with its own identity provider: use \"Sign in with your organization\" "
            "and your work email.")
MAX_FAILED_LOGINS = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
API_TOKEN_DAYS = 30
SEEN_EVERY = timedelta(seconds=30)  # last_seen_at (the idle clock) is written at most this often

# verify against a real hash even for unknown usernames, so timing does not reveal which exist
_DUMMY_HASH = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for_user(user: User, via: str = "web") -> Principal:
    org = user.organization
    return Principal(
        user_id=user.id,
        username=user.username,
        org_id=user.organization_id,
        org_kind=org.kind,
        role=user.role,
        org_name=org.name,
        via=via,
        time_zone=getattr(org, "time_zone", None) or "UTC",
        language=getattr(user, "language", None) or "en",
    )


@dataclass
class LoginResult:
    user: User | None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


class SourceThrottle:
    """Failed sign-ins per source address (in this process): one address guessing many usernames is
    slowed down whatever usernames it tries. A sliding window, forgotten after ``window``."""

    def __init__(self, limit: int = 30, window: timedelta = LOCKOUT_WINDOW):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def blocked(self, source: str | None, now) -> bool:
        if not source:
            return False
        with self._lock:
            q = self._failures.get(source)
            while q and now - q[0] > self.window:
                q.popleft()
            return bool(q) and len(q) >= self.limit

    def failed(self, source: str | None, now) -> None:
        if source:
            with self._lock:
                self._failures.setdefault(source, deque()).append(now)


source_throttle = SourceThrottle()


def authenticate(session: Session, username: str, password: str, *, via: str = "web",
                 source: str | None = None) -> LoginResult:
    """Check a username and password. Every failure writes a ``login.failed`` audit row (allowed=False)
    and returns the same message whatever was wrong, so the page does not reveal which usernames exist.

    Lockout: after MAX_FAILED_LOGINS checked failures in LOCKOUT_WINDOW the username is refused
    without checking the password (``login.locked``, which does not count: trying during a lockout
    does not extend it). Attempts on one username are serialized, so parallel guesses are counted
    one by one: 40 at once check 5 passwords. ``source`` (the client address) is throttled too."""
    global _DUMMY_HASH
    username = (username or "").strip()
    now = utcnow()
    if source_throttle.blocked(source, now):
        _audit_failure(session, username, via, "too many failures from this address", action="login.locked")
        return LoginResult(None, TOO_MANY_ATTEMPTS)
    if username:
        repo.lock_username(session, username)
    if repo.recent_failed_logins(session, username, now - LOCKOUT_WINDOW) >= MAX_FAILED_LOGINS:
        _audit_failure(session, username, via, "locked out after repeated failures", action="login.locked")
        return LoginResult(None, TOO_MANY_ATTEMPTS)
    user = repo.user_by_username(session, username) if username else None
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not-a-real-password")
        verify_password(_DUMMY_HASH, password or "")
        _audit_failure(session, username, via, "unknown username")
        source_throttle.failed(source, now)
        return LoginResult(None, WRONG_CREDENTIALS)
    if not verify_password(user.password_hash, password or ""):
        _audit_failure(session, username, via, "wrong password", user=user)
        source_throttle.failed(source, now)
        return LoginResult(None, WRONG_CREDENTIALS)
    if not user.is_active:
        _audit_failure(session, username, via, "account deactivated", user=user)
        return LoginResult(None, WRONG_CREDENTIALS)
    cfg = repo.org_sign_in(session, user.organization_id)
    if cfg is not None and not cfg.passwords_allowed:
        _audit_failure(session, username, via, "passwords are off: single sign-on only", user=user)
        return LoginResult(None, SSO_ONLY)
    user.last_login_at = utcnow()
    audit.record(session, principal_for_user(user, via), "login.succeeded", object_type="user", object_id=user.id)
    session.flush()
    return LoginResult(user)


def _audit_failure(session: Session, username: str, via: str, reason: str, user: User | None = None,
                   action: str = "login.failed") -> None:
    # audit.record() takes who from a Principal; a failed sign-in has none, so write the row here,
    # keeping the username typed (for lockout counting) and the account's organization when known
    # (so that organization's auditor sees attempts on its accounts).
    session.execute(
        insert(AuditEvent).values(
            user_id=user.id if user else None,
            username=username[:80] or None,
            organization_id=user.organization_id if user else None,
            via=via,
            action=action,
            object_type="user",
            object_id=str(user.id) if user else None,
            allowed=False,
            reason=reason,
        )
    )


# ---- web sessions ----------------------------------------------------------------------------


class SessionExpired(Exception):
    """The cookie names a session that timed out: the sign-in page says so."""


def start_web_session(session: Session, user: User, user_agent: str | None = None) -> str:
    """Create a server-side session; returns the token for the cookie (shown nowhere else)."""
    repo.delete_expired_sessions(session, user.id)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = timedelta(seconds=get_settings().session_max_age_seconds)
    cfg = repo.org_sign_in(session, user.organization_id)
    if cfg is not None and cfg.absolute_lifetime_hours:
        lifetime = min(lifetime, timedelta(hours=cfg.absolute_lifetime_hours))
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    session.flush()
    return token


def principal_for_session(session: Session, token: str) -> Principal | None:
    """The signed-in principal, None when the token is unknown (signed out, forged) or the account
    was deactivated; raises SessionExpired when the session timed out (and deletes it)."""
    row = repo.web_session_by_hash(session, hash_token(token))
    if row is None:
        return None
    now = utcnow()
    idle = timedelta(seconds=get_settings().session_idle_seconds)
    last = as_utc(row.last_seen_at) or as_utc(row.created_at)
    if as_utc(row.expires_at) <= now or (last is not None and now - last > idle):
        repo.delete_web_session(session, row.token_hash)
        raise SessionExpired()
    if not row.user.is_active:
        return None
    # the organization's idle timeout (stricter than the server's): a browser left alone signs in again
    cfg = repo.org_sign_in(session, row.user.organization_id)
    if cfg is not None and cfg.idle_timeout_minutes and last is not None and \
            now - last > timedelta(minutes=cfg.idle_timeout_minutes):
        repo.delete_web_session(session, row.token_hash)
        raise SessionExpired()
    if last is None or now - last > SEEN_EVERY:  # not a write on every request
        row.last_seen_at = now
    return principal_for_user(row.user, "web")


def end_all_sessions(session: Session, principal: Principal, *, revoke_tokens: bool = False) -> int:
    """Sign the user out everywhere: every browser session (and, if asked, every API token)."""
    n = repo.delete_user_sessions(session, principal.user_id)
    if revoke_tokens:
        n += repo.revoke_user_tokens(session, principal.user_id)
    audit.record(session, principal, "session.end_all", object_type="user", object_id=principal.user_id,
                 detail={"revoke_tokens": revoke_tokens})
    return n


def end_web_session(session: Session, token: str | None) -> None:
    if token:
        repo.delete_web_session(session, hash_token(token))


# ---- API tokens ------------------------------------------------------------------------------


def issue_api_token(session: Session, user: User, name: str = "api", days: int = API_TOKEN_DAYS) -> tuple[str, ApiToken]:
    token = "sc_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=(name or "api")[:100],
        token_hash=hash_token(token),
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    audit.record(session, principal_for_user(user, "api"), "api_token.issued", object_type="api_token", object_id=row.id)
    return token, row


def list_api_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    """The user's own API tokens (never their values: only hashes are kept)."""
    return repo.tokens_of_user(session, principal.user_id)


def revoke_api_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    row = repo.api_token(session, token_id)
    if row is None or row.user_id != principal.user_id:
        audit.record_denied(session, principal, "api_token.revoke", object_type="api_token", object_id=token_id,
                            reason="not one of the user's tokens")
        raise NotFound(f"You have no API token {token_id}.")
    row.revoked = True
    session.flush()
    audit.record(session, principal, "api_token.revoked", object_type="api_token", object_id=row.id)
    return row


def change_password(session: Session, principal: Principal, current: str, new: str) -> None:
    """The user changes their own password; every other session and every API token ends."""
    user = repo.user_by_id(session, principal.user_id) if principal.user_id else None
    if user is None or not verify_password(user.password_hash, current or ""):
        audit.record_denied(session, principal, "user.password.change", object_type="user",
                            object_id=principal.user_id, reason="current password wrong")
        raise InvalidInput("The password was not changed.", [Problem("the current password is wrong",
                                                                     field="current_password")])
    problems = password_problems(new, user.username, user.full_name, user.email or "")
    if new == current:
        problems.append("the new password must differ from the current one")
    if problems:
        raise InvalidInput("The password was not changed.", [Problem(p, field="new_password") for p in problems])
    user.password_hash = hash_password(new)
    session.flush()
    repo.revoke_user_tokens(session, user.id)
    audit.record(session, principal, "user.password.change", object_type="user", object_id=user.id)


def principal_for_api_token(session: Session, token: str) -> Principal | None:
    row = repo.api_token_by_hash(session, hash_token(token))
    if row is None or row.revoked:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
        return None
    if not row.user.is_active:
        return None
    last = as_utc(row.last_used_at)
    if last is None or utcnow() - last > timedelta(minutes=5):  # not a write on every call
        repo.touch_api_token(session, row.id)
    return principal_for_user(row.user, "api")


# ---- user accounts ---------------------------------------------------------------------------


def create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    full_name: str,
    password: str,
    role: str,
    email: str | None = None,
    organization_id: int | None = None,
) -> User:
    """An administrator adds an account to their own organization."""
    actor.require("users:manage")
    org_id = organization_id or actor.org_id
    problems: list[Problem] = []
    if org_id != actor.org_id:
        problems.append(Problem("you can add accounts to your own organization only", field="organization_id"))
    username = (username or "").strip()
    if not username or len(username) > 80 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        problems.append(Problem("use 1 to 80 letters, digits, dots, dashes or underscores", field="username"))
    if not (full_name or "").strip():
        problems.append(Problem("give the person's name", field="full_name"))
    problems += [Problem(p, field="password") for p in password_problems(password, username, full_name, email or "")]
    org = repo.organization(session, org_id)
    if role not in {r.value for r in Role}:
        problems.append(Problem(f"unknown role '{role}'", field="role"))
    elif org is not None and not role_fits_org(role, org.kind):
        problems.append(Problem(f"the role '{role}' does not fit a {org.kind} organization", field="role"))
    if problems:
        raise InvalidInput("The account was not created.", problems)
    if repo.user_by_username(session, username) is not None:
        raise Conflict(f"The username '{username}' is taken; choose another.")
    user = User(
        username=username,
        full_name=full_name.strip(),
        email=(email or "").strip() or None,
        password_hash=hash_password(password),
        role=role,
        organization_id=org_id,
        is_active=True,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", object_type="user", object_id=user.id, detail={"role": role})
    return user
