"""POST /api/v1/tokens: exchange a username and password for a bearer token; GET /api/v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from socialcare.core.errors import Unauthorized
from socialcare.security import service
from socialcare.security.rules import PERMISSIONS, Role
from socialcare.security.schemas import MeOut, TokenOut, TokenRequest
from socialcare.web.deps import ApiPrincipal, DbSession, public

router = APIRouter(tags=["authentication"])


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=201,
    dependencies=[Depends(public)],
    summary="Get a bearer token",
    responses={401: {"description": "wrong username or password"}},
)
def create_token(body: TokenRequest, db: DbSession) -> TokenOut:
    """Sign in with a username and password; the token is valid 30 days and is shown only once."""
    from socialcare.security import totp

    result = service.authenticate(db, body.username, body.password, via="api")
    refusal = None if result.ok else (result.message or service.WRONG_CREDENTIALS)
    if result.ok and totp.required(db, result.user) and not totp.verify(db, result.user, body.totp_code or ""):
        service._audit_failure(db, body.username, "api", "missing or wrong second factor (TOTP) code",
                               user=result.user)
        refusal = "This account signs in with an authenticator code too: send it as totp_code."
    if refusal:
        db.commit()  # keep the login.failed audit row: the error below rolls the request back
        raise Unauthorized(refusal)
    token, row = service.issue_api_token(db, result.user, body.name)
    return TokenOut(access_token=token, expires_at=row.expires_at)


@router.get("/me", response_model=MeOut, summary="Who this token acts as")
def me(principal: ApiPrincipal) -> MeOut:
    return MeOut(
        username=principal.username,
        role=principal.role,
        organization_id=principal.org_id,
        organization_name=principal.org_name,
        organization_kind=principal.org_kind,
        permissions=sorted(PERMISSIONS.get(Role(principal.role), set())),
    )
