"""API shapes for sign-in tokens and the audit log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field(default="api", max_length=100, description="a label to recognise the token later")
    totp_code: str | None = Field(default=None, max_length=10,
                                  description="the authenticator code, when the account uses one (TOTP)")


class TokenOut(BaseModel):
    access_token: str = Field(description="send as 'Authorization: Bearer <access_token>'; shown only once")
    token_type: str = "bearer"
    expires_at: datetime | None


class MeOut(BaseModel):
    username: str
    role: str
    organization_id: int
    organization_name: str
    organization_kind: str
    permissions: list[str]


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)
