"""Single sign-on with OpenID Connect (Authlib), one provider per organization.

The organization's administrator records its provider's discovery URL, the client id and secret the
provider issued, the email domains its people sign in with, and which claim carries their role
(``groups`` by default) with a map from claim values to socialcare roles. Sign-in is the
authorization code flow with PKCE, state and nonce; the ID token's signature (the provider's JWKS),
issuer, audience, expiry and nonce are checked (joserfc, Authlib's JOSE library). The first sign-in
creates the account (no password: it can only sign in through the provider); each sign-in brings
the role up to date from the claims, and an account whose claims no longer map to a role is refused.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.core.errors import InvalidInput, Problem, Unauthorized
from socialcare.core.settings import get_settings
from socialcare.security import audit
from socialcare.security.models import OrgSignIn, User, UserIdentity
from socialcare.security.rules import Role, role_fits_org

CALLBACK_PATH = "/login/oidc/callback"
NO_ACCOUNT = "Single sign-on did not give access to socialcare: {reason}. Ask your organization's administrator."
_CACHE_SECONDS = 300
_cache: dict[str, tuple[float, dict]] = {}
UNUSABLE_PASSWORD = "!sso"  # never an argon2 hash: a password sign-in can never match


def _get_json(url: str) -> dict:
    hit = _cache.get(url)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    try:
        response = httpx.get(url, timeout=10, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthorized(f"Your organization's sign-in provider does not answer ({type(exc).__name__}); "
                           "try again in a moment or sign in with a password.") from None
    _cache[url] = (time.monotonic() + _CACHE_SECONDS, data)
    return data


def discovery(cfg: OrgSignIn) -> dict:
    return _get_json(cfg.oidc_discovery_url or "")


def redirect_uri() -> str:
    return get_settings().public_url.rstrip("/") + CALLBACK_PATH


def is_configured(cfg: OrgSignIn | None) -> bool:
    return bool(cfg and cfg.oidc_discovery_url and cfg.oidc_client_id)


def config_for_email(session: Session, email: str) -> OrgSignIn | None:
    """The organization whose allowed domains include this email's domain."""
    domain = (email or "").rsplit("@", 1)[-1].strip().lower()
    if not domain or "@" not in (email or ""):
        return None
    for cfg in session.scalars(select(OrgSignIn).where(OrgSignIn.oidc_discovery_url.is_not(None))):
        if domain in {d.lower() for d in cfg.allowed_email_domains or []}:
            return cfg
    return None


def _client(cfg: OrgSignIn, meta: dict) -> OAuth2Client:
    scopes = ["openid", "email", "profile"]
    if cfg.role_claim in (meta.get("scopes_supported") or []):
        scopes.append(cfg.role_claim)
    return OAuth2Client(cfg.oidc_client_id, cfg.oidc_client_secret, scope=" ".join(scopes),
                        redirect_uri=redirect_uri(), code_challenge_method="S256", timeout=15)


def start(cfg: OrgSignIn, login_hint: str | None = None) -> tuple[str, dict]:
    """Where to send the browser, and what to remember (in a signed cookie) until it comes back."""
    meta = discovery(cfg)
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
    extra = {"login_hint": login_hint} if login_hint else {}
    with _client(cfg, meta) as client:
        url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                     nonce=nonce, **extra)
    return url, {"org": cfg.organization_id, "state": state, "nonce": nonce, "verifier": verifier}


@dataclass
class SsoLogin:
    user: User
    claims: dict


def _refuse(session: Session, cfg: OrgSignIn, who: str, reason: str, user: User | None = None) -> Unauthorized:
    from socialcare.security.service import _audit_failure

    _audit_failure(session, who[:80], "sso", reason)
    if user is None:
        session.flush()
    return Unauthorized(NO_ACCOUNT.format(reason=reason))


def map_role(cfg: OrgSignIn, value) -> str | None:
    """The first role (in the map's order) whose claim value the person has."""
    have = {str(v) for v in (value if isinstance(value, list) else [value]) if v is not None}
    for claim_value, role in (cfg.role_map or {}).items():
        if claim_value in have and role in {r.value for r in Role}:
            return role
    return None


def finish(session: Session, cfg: OrgSignIn, pending: dict, params: dict) -> SsoLogin:
    """The provider sent the browser back: check everything, then the account (created on first use)."""
    if params.get("error"):
        raise Unauthorized(f"Your sign-in provider refused: {params.get('error_description') or params['error']}.")
    if not pending or pending.get("org") != cfg.organization_id or not secrets.compare_digest(
            str(pending.get("state", "")), str(params.get("state", ""))):
        raise Unauthorized("This sign-in link has expired or was not started here; start again.")
    meta = discovery(cfg)
    try:
        with _client(cfg, meta) as client:
            token = client.fetch_token(meta["token_endpoint"], grant_type="authorization_code",
                                       code=params.get("code"), code_verifier=pending["verifier"])
            claims = _verify_id_token(cfg, meta, token.get("id_token"), pending["nonce"])
            if meta.get("userinfo_endpoint"):
                info = client.get(meta["userinfo_endpoint"]).json()
                if info.get("sub") == claims["sub"]:
                    claims = {**info, **claims}
    except (httpx.HTTPError, JoseError, KeyError, ValueError) as exc:
        raise _refuse(session, cfg, str(params.get("state", ""))[:20], f"the provider's answer did not check out "
                      f"({type(exc).__name__})") from None
    except Exception as exc:  # Authlib's OAuth errors (invalid_grant...)
        raise _refuse(session, cfg, "", f"the provider refused the code ({type(exc).__name__}: {exc})") from None

    email = str(claims.get("email") or "").strip().lower()
    domain = email.rsplit("@", 1)[-1] if "@" in email else ""
    if not email or claims.get("email_verified") is False:
        raise _refuse(session, cfg, email or claims["sub"], "the provider gave no verified email address")
    if domain not in {d.lower() for d in cfg.allowed_email_domains or []}:
        raise _refuse(session, cfg, email, f"the email domain {domain} is not one this organization signs in with")
    role = map_role(cfg, claims.get(cfg.role_claim))
    from socialcare.directory.models import Organization

    org = session.get(Organization, cfg.organization_id)
    if role is None or org is None or not role_fits_org(role, org.kind):
        raise _refuse(session, cfg, email, f"no socialcare role for your {cfg.role_claim} "
                      f"({claims.get(cfg.role_claim)!r})")

    issuer = meta["issuer"]
    ident = session.scalar(select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                      UserIdentity.subject == str(claims["sub"])))
    user = session.get(User, ident.user_id) if ident else None
    if user is None:
        user = session.scalar(select(User).where(User.email == email, User.organization_id == org.id))
    if user is None:
        username = email[:80]
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise _refuse(session, cfg, email, f"the username {username} belongs to another account")
        user = User(username=username, full_name=str(claims.get("name") or email)[:200], email=email,
                    password_hash=UNUSABLE_PASSWORD, role=role, organization_id=org.id, is_active=True)
        session.add(user)
        session.flush()
        audit.record(session, _principal(user), "user.created", object_type="user", object_id=user.id,
                     detail={"role": role, "via": "sso", "issuer": issuer})
    if user.organization_id != org.id or not user.is_active:
        raise _refuse(session, cfg, email, "the account is deactivated or belongs to another organization", user)
    if ident is None:
        ident = UserIdentity(user_id=user.id, issuer=issuer, subject=str(claims["sub"]))
        session.add(ident)
    if user.role != role:
        audit.record(session, _principal(user), "user.role_from_sso", object_type="user", object_id=user.id,
                     detail={"from": user.role, "to": role})
        user.role = role
    now = utcnow()
    ident.last_login_at = user.last_login_at = now
    session.flush()
    audit.record(session, _principal(user), "login.succeeded", object_type="user", object_id=user.id,
                 detail={"via": "sso", "issuer": issuer})
    return SsoLogin(user, claims)


def _principal(user: User):
    from socialcare.security.service import principal_for_user

    return principal_for_user(user, "web")


def _verify_id_token(cfg: OrgSignIn, meta: dict, id_token: str | None, nonce: str) -> dict:
    if not id_token:
        raise ValueError("no id_token")
    keys = KeySet.import_key_set(_get_json(meta["jwks_uri"]))
    algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    token = jwt.decode(id_token, keys, algorithms=[a for a in algorithms if a != "none"])
    jwt.JWTClaimsRegistry(
        leeway=int(timedelta(minutes=2).total_seconds()),
        iss={"essential": True, "value": meta["issuer"]},
        aud={"essential": True, "value": cfg.oidc_client_id},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(token.claims)
    return dict(token.claims)


# ---- settings ----------------------------------------------------------------------------------


def sign_in_settings(session: Session, org_id: int) -> OrgSignIn | None:
    return session.scalar(select(OrgSignIn).where(OrgSignIn.organization_id == org_id))


def set_sign_in(session: Session, actor, **fields) -> OrgSignIn:
    """An administrator sets how their own organization signs in. Only given fields change."""
    actor.require("users:manage")
    org_id = actor.org_id
    problems: list[Problem] = []
    role_map = fields.get("role_map")
    if role_map is not None:
        bad = [r for r in role_map.values() if r not in {x.value for x in Role}]
        if bad:
            problems.append(Problem(f"unknown role(s): {', '.join(bad)}", field="role_map"))
    url = fields.get("oidc_discovery_url")
    if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        problems.append(Problem("the discovery URL must be https (…/.well-known/openid-configuration)",
                                field="oidc_discovery_url"))
    for key in ("idle_timeout_minutes", "absolute_lifetime_hours"):
        if fields.get(key) is not None and fields[key] < 1:
            problems.append(Problem("at least 1", field=key))
    if problems:
        raise InvalidInput("The sign-in settings were not saved.", problems)
    cfg = sign_in_settings(session, org_id)
    if cfg is None:
        cfg = OrgSignIn(organization_id=org_id, allowed_email_domains=[], role_claim="groups", role_map={},
                        passwords_allowed=True, require_totp=False)
        session.add(cfg)
    for key, value in fields.items():  # a field given as None is cleared, except the secret (kept)
        if key == "oidc_client_secret" and value is None:
            continue
        setattr(cfg, key, value)
    if fields.get("allowed_email_domains") is not None:
        cfg.allowed_email_domains = sorted({d.strip().lower().lstrip("@") for d in fields["allowed_email_domains"]
                                            if d.strip()})
    session.flush()
    shown = {k: v for k, v in fields.items() if k != "oidc_client_secret"}
    audit.record(session, actor, "organization.sign_in.set", object_type="organization", object_id=org_id,
                 detail={k: v for k, v in shown.items() if v is not None})
    return cfg
