"""delivery: the rendering provider's NPI on a service record (the service record file's
rendering_npi column; an 837P line's rendering provider)

Revision ID: 0210_delivery_rendering_npi
Revises: 0200_delivery
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0210_delivery_rendering_npi'
down_revision = '0200_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rendering_npi', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.drop_column('rendering_npi')
