"""notifications: in-app inbox and email per user, preferences per kind; each organization's time
zone and each user's interface language

Revision ID: 1900_notifications
Revises: 0100_referrals
Create Date: 2026-12-07 19:19:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '1900_notifications'
down_revision = '0100_referrals'
branch_labels = ('notifications',)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), server_default='en', nullable=False))
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=True),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=300), nullable=False),
        sa.Column('dedup_key', sa.String(length=120), nullable=True),
        sa.Column('in_app', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('email_status', sa.String(length=12), nullable=True),
        sa.Column('email_to', sa.String(length=200), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('email_attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_notification_referral_id_referral'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plan_id'], ['organization.id'], name=op.f('fk_notification_plan_id_organization'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
        sa.UniqueConstraint('user_id', 'dedup_key', name=op.f('uq_notification_user_id_dedup_key')),
    )
    op.create_index('ix_notification_user_read', 'notification', ['user_id', 'read_at'], unique=False)
    op.create_index('ix_notification_email_status', 'notification', ['email_status'], unique=False)
    op.create_index(op.f('ix_notification_referral_id'), 'notification', ['referral_id'], unique=False)
    op.create_table(
        'notification_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('in_app', sa.Boolean(), nullable=False),
        sa.Column('email', sa.Boolean(), nullable=False),
        sa.Column('digest', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_preference_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preference')),
    )


def downgrade() -> None:
    op.drop_table('notification_preference')
    op.drop_index(op.f('ix_notification_referral_id'), table_name='notification')
    op.drop_index('ix_notification_email_status', table_name='notification')
    op.drop_index('ix_notification_user_read', table_name='notification')
    op.drop_table('notification')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
