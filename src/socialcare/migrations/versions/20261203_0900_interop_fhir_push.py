"""interop: Direct-mode FHIR exchange: which referral (and status) each push carries, the answer
the partner's server gave, and when each partner's server was last polled

Revision ID: 0510_interop_fhir_push
Revises: 0500_interop, 0100_referrals
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0510_interop_fhir_push'
down_revision = ('0500_interop', '0100_referrals')
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fhir_outbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('referral_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('http_status', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_fhir_outbound_referral_id_referral'), 'referral',
                                    ['referral_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_fhir_outbound_referral', ['referral_id', 'referral_status'], unique=False)
    with op.batch_alter_table('fhir_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_poll_error', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fhir_endpoint', schema=None) as batch_op:
        batch_op.drop_column('last_poll_error')
        batch_op.drop_column('last_polled_at')
    with op.batch_alter_table('fhir_outbound', schema=None) as batch_op:
        batch_op.drop_index('ix_fhir_outbound_referral')
        batch_op.drop_constraint(batch_op.f('fk_fhir_outbound_referral_id_referral'), type_='foreignkey')
        batch_op.drop_column('http_status')
        batch_op.drop_column('referral_status')
        batch_op.drop_column('referral_id')
