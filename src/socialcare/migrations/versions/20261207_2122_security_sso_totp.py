"""security: per-organization sign-in (OpenID Connect, TOTP rule, session timeouts), TOTP secrets, OIDC identities

Revision ID: 2122_security_sso_totp
Revises: 0010_web_sessions
Create Date: 2026-12-07 21:22:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '2122_security_sso_totp'
down_revision = '0010_web_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('org_sign_in',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('oidc_discovery_url', sa.String(length=400), nullable=True),
    sa.Column('oidc_client_id', sa.String(length=200), nullable=True),
    sa.Column('oidc_client_secret', sa.String(length=400), nullable=True),
    sa.Column('allowed_email_domains', sa.JSON(), nullable=False),
    sa.Column('role_claim', sa.String(length=80), nullable=False),
    sa.Column('role_map', sa.JSON(), nullable=False),
    sa.Column('passwords_allowed', sa.Boolean(), nullable=False),
    sa.Column('require_totp', sa.Boolean(), nullable=False),
    sa.Column('idle_timeout_minutes', sa.Integer(), nullable=True),
    sa.Column('absolute_lifetime_hours', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_org_sign_in_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_sign_in')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_org_sign_in_organization_id'))
    )
    op.create_table('user_totp',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_totp_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_totp')),
    sa.UniqueConstraint('user_id', name=op.f('uq_user_totp_user_id'))
    )
    op.create_table('user_identity',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=400), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_identity_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identity')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_user_identity_issuer_subject'))
    )
    with op.batch_alter_table('user_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_identity_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('user_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_identity_user_id'))
    op.drop_table('user_identity')
    op.drop_table('user_totp')
    op.drop_table('org_sign_in')
