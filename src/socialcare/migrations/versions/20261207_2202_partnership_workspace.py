"""partnership: contract proposals, expectations, lifecycle practices, case conferencing; escalation
levels and barriers; organization hours

Revision ID: 2202_partnership
Revises: 0400_joc
Create Date: 2026-12-07 22:02:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '2202_partnership'
down_revision = '0400_joc'
branch_labels = ('partnership',)
depends_on = ('0100_referrals',)

NOW = sa.text('(CURRENT_TIMESTAMP)')


def upgrade() -> None:
    op.create_table(
        'contract_proposal',
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=False),
        sa.Column('section', sa.String(length=20), nullable=False),
        sa.Column('proposed', sa.JSON(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('proposed_by_org_id', sa.Integer(), nullable=False),
        sa.Column('proposed_by_user_id', sa.Integer(), nullable=True),
        sa.Column('proposed_by', sa.String(length=100), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('counter_of_id', sa.Integer(), nullable=True),
        sa.Column('responded_by_org_id', sa.Integer(), nullable=True),
        sa.Column('responded_by', sa.String(length=100), nullable=True),
        sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('response_comment', sa.Text(), nullable=False),
        sa.Column('result_version', sa.Integer(), nullable=True),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['counter_of_id'], ['contract_proposal.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['proposed_by_org_id'], ['organization.id']),
        sa.ForeignKeyConstraint(['proposed_by_user_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['responded_by_org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_contract_proposal_contract_status', 'contract_proposal', ['contract_id', 'status'])
    op.create_table(
        'contract_expectation',
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('party_org_id', sa.Integer(), nullable=False),
        sa.Column('about', sa.String(length=12), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['party_org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('contract_id', 'party_org_id', 'about', 'rank'),
    )
    op.create_index(op.f('ix_contract_expectation_contract_id'), 'contract_expectation', ['contract_id'])
    op.create_table(
        'partnership_practice',
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('phase', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('scheduled_on', sa.Date(), nullable=True),
        sa.Column('held_on', sa.Date(), nullable=True),
        sa.Column('owner_party', sa.String(length=10), nullable=False),
        sa.Column('assigned_to', sa.String(length=200), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=True),
        sa.Column('created_by_org_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column('closed_by', sa.String(length=100), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_partnership_practice_contract_kind', 'partnership_practice', ['contract_id', 'kind'])
    op.create_table(
        'case_conference',
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('attendees', sa.JSON(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_case_conference_contract_id'), 'case_conference', ['contract_id'])
    op.create_table(
        'case_conference_case',
        sa.Column('conference_id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('added_by_org_id', sa.Integer(), nullable=False),
        sa.Column('added_by', sa.String(length=100), nullable=True),
        sa.Column('discussion', sa.Text(), nullable=False),
        sa.Column('follow_up', sa.Text(), nullable=False),
        sa.Column('follow_up_owner', sa.String(length=200), nullable=False),
        sa.Column('follow_up_due', sa.Date(), nullable=True),
        sa.Column('action_item_id', sa.Integer(), nullable=True),
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(['action_item_id'], ['joc_action_item.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['added_by_org_id'], ['organization.id']),
        sa.ForeignKeyConstraint(['conference_id'], ['case_conference.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('conference_id', 'referral_id'),
    )
    op.create_index(op.f('ix_case_conference_case_conference_id'), 'case_conference_case', ['conference_id'])
    with op.batch_alter_table('escalation') as batch:
        batch.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('level', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('contact_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('respond_by', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('barrier', sa.String(length=30), nullable=True))
        batch.create_index(batch.f('ix_escalation_contract_id'), ['contract_id'])
        batch.create_foreign_key('fk_escalation_contract_id', 'contract', ['contract_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('organization') as batch:
        batch.add_column(sa.Column('hours', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organization') as batch:
        batch.drop_column('hours')
    with op.batch_alter_table('escalation') as batch:
        batch.drop_constraint('fk_escalation_contract_id', type_='foreignkey')
        batch.drop_index(batch.f('ix_escalation_contract_id'))
        for col in ('barrier', 'respond_by', 'contact_name', 'level', 'contract_id'):
            batch.drop_column(col)
    for t in ('case_conference_case', 'case_conference', 'partnership_practice', 'contract_expectation',
              'contract_proposal'):
        op.drop_table(t)
