"""A second factor for password sign-in: TOTP (RFC 6238, pyotp), the codes of any authenticator app.

Required for a password user when the organization says so (``OrgSignIn.require_totp``), or once the
user has enrolled one. Enrolment shows the otpauth:// URI as a QR code and as text; the secret is
confirmed by the first code. A code is good for its 30-second step and one step either side, once.
"""

from __future__ import annotations

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcare.core.clock import utcnow
from socialcare.security.models import OrgSignIn, User, UserTotp

ISSUER = "socialcare"
STEP = 30


def factor(session: Session, user: User) -> UserTotp | None:
    return session.scalar(select(UserTotp).where(UserTotp.user_id == user.id))


def org_requires(session: Session, org_id: int) -> bool:
    return bool(session.scalar(select(OrgSignIn.require_totp).where(OrgSignIn.organization_id == org_id)))


def required(session: Session, user: User) -> bool:
    row = factor(session, user)
    return (row is not None and row.confirmed_at is not None) or org_requires(session, user.organization_id)


def enrolled(session: Session, user: User) -> bool:
    row = factor(session, user)
    return row is not None and row.confirmed_at is not None


def enrolment(session: Session, user: User) -> tuple[str, str]:
    """The (unconfirmed) secret and its otpauth:// URI, made once and kept until confirmed."""
    row = factor(session, user)
    if row is None:
        row = UserTotp(user_id=user.id, secret=pyotp.random_base32())
        session.add(row)
        session.flush()
    uri = pyotp.TOTP(row.secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return row.secret, uri


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def verify(session: Session, user: User, code: str) -> bool:
    """True for a current code not used before; the first good code confirms an enrolment."""
    row = factor(session, user)
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if row is None or len(code) != 6:
        return False
    totp = pyotp.TOTP(row.secret)
    now = utcnow().timestamp()
    for offset in (0, -1, 1):
        at = now + offset * STEP
        step = int(at // STEP)
        if totp.at(at) == code and (row.last_step is None or step > row.last_step):
            row.last_step = step
            if row.confirmed_at is None:
                row.confirmed_at = utcnow()
            session.flush()
            return True
    return False


def current_code(secret: str) -> str:
    """The code an authenticator app would show now (on socialcare's clock)."""
    return pyotp.TOTP(secret).at(utcnow().timestamp())


def reset(session: Session, actor, user: User) -> None:
    """Forget the user's authenticator (a lost phone): they enrol again at their next password sign-in."""
    from sqlalchemy import delete

    from socialcare.security import audit

    session.execute(delete(UserTotp).where(UserTotp.user_id == user.id))
    audit.record(session, actor, "user.totp_reset", object_type="user", object_id=user.id)
