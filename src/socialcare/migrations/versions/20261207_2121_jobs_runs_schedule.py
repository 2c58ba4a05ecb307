"""jobs: every job run (queued, running, succeeded, failed) and the periodic schedule workers share

Revision ID: 2121_jobs_runs_schedule
Revises: 0001_foundation
Create Date: 2026-12-07 21:21:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '2121_jobs_runs_schedule'
down_revision = '0001_foundation'
branch_labels = ('jobs',)
depends_on = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kwargs', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('pending_key', sa.String(length=200), nullable=True),
    sa.Column('running_key', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('queued_by', sa.String(length=80), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    sa.UniqueConstraint('pending_key', name=op.f('uq_job_run_pending_key')),
    sa.UniqueConstraint('running_key', name=op.f('uq_job_run_running_key'))
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_run_name'), ['name'], unique=False)
        batch_op.create_index('ix_job_run_status_id', ['status', 'id'], unique=False)
    op.create_table('job_schedule',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_schedule'))
    )


def downgrade() -> None:
    op.drop_table('job_schedule')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_status_id')
        batch_op.drop_index(batch_op.f('ix_job_run_name'))
    op.drop_table('job_run')
