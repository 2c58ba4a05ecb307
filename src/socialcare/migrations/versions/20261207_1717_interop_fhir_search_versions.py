"""interop: searchable tokens of kept FHIR resources (identifier, status, code, references) and the
versions served after each FHIR write (vread)

Revision ID: 0520_interop_fhir_search
Revises: 0510_interop_fhir_push
Create Date: 2026-12-07 17:17:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0520_interop_fhir_search'
down_revision = '0510_interop_fhir_push'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fhir_search_token',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=300), nullable=True),
    sa.Column('value', sa.String(length=300), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['fhir_resource.id'], name=op.f('fk_fhir_search_token_resource_id_fhir_resource'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_search_token'))
    )
    with op.batch_alter_table('fhir_search_token', schema=None) as batch_op:
        batch_op.create_index('ix_fhir_search_token_lookup', ['name', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_fhir_search_token_resource_id'), ['resource_id'], unique=False)
    op.create_table('fhir_resource_version',
    sa.Column('resource_type', sa.String(length=40), nullable=False),
    sa.Column('fhir_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_resource_version')),
    sa.UniqueConstraint('resource_type', 'fhir_id', 'version_id',
                        name=op.f('uq_fhir_resource_version_resource_type_fhir_id_version_id'))
    )
    # index what is already kept (few rows: resources exchanged over FHIR)
    from socialcare.interop.fhir.tokens import extract

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, body FROM fhir_resource")).all()
    tokens = []
    for rid, body in rows:
        body = json.loads(body) if isinstance(body, str) else body
        tokens += [{"r": rid, "n": n, "s": s, "v": v} for n, s, v in extract(body or {})]
    if tokens:
        conn.execute(sa.text("INSERT INTO fhir_search_token (resource_id, name, system, value) "
                             "VALUES (:r, :n, :s, :v)"), tokens)


def downgrade() -> None:
    op.drop_table('fhir_resource_version')
    with op.batch_alter_table('fhir_search_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fhir_search_token_resource_id'))
        batch_op.drop_index('ix_fhir_search_token_lookup')
    op.drop_table('fhir_search_token')
