"""held files

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00.000000

Files waiting for a chat user's click (a Teams file-consent card, a P-data file while its
officer picks the organisation), encrypted and short-lived.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('held_files',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=150), nullable=False),
    sa.Column('user_ref', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_held_files'))
    )
    with op.batch_alter_table('held_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_files_expires_at'), ['expires_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('held_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_files_expires_at'))
    op.drop_table('held_files')
