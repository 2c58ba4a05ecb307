"""contracts attribution: every piece of daily work stores the contract, the contract version and the
reason it counts there (referrals, service records, care episodes, pathways, engagements, flexible-fund
disbursements); see contracts/attribution.py

Revision ID: 0230_contract_attribution
Revises: 0210_delivery_rendering_npi, 0300_contracts
Create Date: 2026-12-07 17:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0230_contract_attribution'
down_revision = ('0210_delivery_rendering_npi', '0300_contracts')
branch_labels = None
depends_on = None

NEW_CONTRACT = ('service_record', 'care_episode', 'pathway_instance', 'engagement')
HAS_CONTRACT = ('referral', 'flex_fund_disbursement')


def upgrade() -> None:
    for table in NEW_CONTRACT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('contract_version', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('contract_reason', sa.Text(), nullable=True))
            batch_op.create_foreign_key(op.f(f'fk_{table}_contract_id_contract'), 'contract', ['contract_id'], ['id'],
                                        ondelete='SET NULL')
            batch_op.create_index(op.f(f'ix_{table}_contract_id'), ['contract_id'], unique=False)
    for table in HAS_CONTRACT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('contract_version', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('contract_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('flex_fund_disbursement', schema=None) as batch_op:
        batch_op.create_index(op.f('ix_flex_fund_disbursement_contract_id'), ['contract_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('flex_fund_disbursement', schema=None) as batch_op:
        batch_op.drop_index(op.f('ix_flex_fund_disbursement_contract_id'))
    for table in HAS_CONTRACT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('contract_reason')
            batch_op.drop_column('contract_version')
    for table in NEW_CONTRACT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(op.f(f'ix_{table}_contract_id'))
            batch_op.drop_constraint(op.f(f'fk_{table}_contract_id_contract'), type_='foreignkey')
            batch_op.drop_column('contract_reason')
            batch_op.drop_column('contract_version')
            batch_op.drop_column('contract_id')
