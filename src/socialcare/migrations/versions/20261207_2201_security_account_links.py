"""security: one-time account links (invitations and password resets)

Revision ID: 2201_security_account_links
Revises: 0010_web_sessions
Create Date: 2026-12-07 22:01:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '2201_security_account_links'
down_revision = '0010_web_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_link',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index(op.f('ix_account_link_user_id'), 'account_link', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_account_link_user_id'), table_name='account_link')
    op.drop_table('account_link')
