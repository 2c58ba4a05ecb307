"""caseload: referral assignment to a staff member (with reassignment history) and the note thread

Revision ID: 1910_caseload
Revises: 1900_notifications
Create Date: 2026-12-07 19:29:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '1910_caseload'
down_revision = '1900_notifications'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'referral_assignment',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('assigned_by_user_id', sa.Integer(), nullable=True),
        sa.Column('assigned_by', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_assignment_referral_id_referral'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_referral_assignment_organization_id_organization')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_referral_assignment_user_id_user_account')),
        sa.ForeignKeyConstraint(['assigned_by_user_id'], ['user_account.id'], name=op.f('fk_referral_assignment_assigned_by_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_assignment')),
    )
    op.create_index(op.f('ix_referral_assignment_referral_id'), 'referral_assignment', ['referral_id'], unique=False)
    op.create_index('ix_referral_assignment_user_open', 'referral_assignment', ['user_id', 'ended_at'], unique=False)
    op.create_table(
        'referral_note',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entered_in_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['thread_id'], ['referral.id'], name=op.f('fk_referral_note_thread_id_referral'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_note_referral_id_referral'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_referral_note_organization_id_organization')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_referral_note_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_note')),
    )
    op.create_index(op.f('ix_referral_note_thread_id'), 'referral_note', ['thread_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_referral_note_thread_id'), table_name='referral_note')
    op.drop_table('referral_note')
    op.drop_index('ix_referral_assignment_user_open', table_name='referral_assignment')
    op.drop_index(op.f('ix_referral_assignment_referral_id'), table_name='referral_assignment')
    op.drop_table('referral_assignment')
