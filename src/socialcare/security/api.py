"""POST /api/v1/tokens: exchange a username and password for a bearer token; GET /api/v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from socialcare.core.errors import Unauthorized
from socialcare.security import service
from socialcare.security.rules import PERMISSIONS, Role
from socialcare.security.schemas import MeOut, PasswordChange, TokenInfo, TokenOut, TokenRequest
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
def create_token(body: TokenRequest, db: DbSession, request: Request) -> TokenOut:
    """Sign in with a username and password; the token is valid 30 days and is shown only once."""
    from socialcare.security import totp

    result = service.authenticate(db, body.username, body.password, via="api",
                                  source=request.client.host if request.client else None)
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


@router.get("/tokens", response_model=list[TokenInfo], summary="Your API tokens (never their values)")
def list_tokens(db: DbSession, principal: ApiPrincipal) -> list[TokenInfo]:
    return [TokenInfo.model_validate(t, from_attributes=True) for t in service.list_api_tokens(db, principal)]


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of your API tokens")
def revoke_token(token_id: int, db: DbSession, principal: ApiPrincipal) -> Response:
    service.revoke_api_token(db, principal, token_id)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, summary="Change your password (ends your tokens and sessions)")
def change_password(body: PasswordChange, db: DbSession, principal: ApiPrincipal) -> Response:
    service.change_password(db, principal, body.current_password, body.new_password)
    service.end_all_sessions(db, principal)
    return Response(status_code=204)


@router.post("/me/sign-out-everywhere", status_code=204,
             summary="End every browser session and revoke every API token of yours (this one too)")
def sign_out_everywhere(db: DbSession, principal: ApiPrincipal) -> Response:
    service.end_all_sessions(db, principal, revoke_tokens=True)
    return Response(status_code=204)
