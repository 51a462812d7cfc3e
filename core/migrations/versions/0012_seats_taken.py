"""seats taken

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00.000000

A counter of the seats held (option, enrolled, offered) on every session row, so that taking
a seat is one guarded UPDATE (``… SET seats_taken = seats_taken + 1 WHERE seats_taken <
capacity``) instead of a lock, a count and an insert. Filled from the enrollments going up.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLDING = "('option', 'enrolled', 'offered')"


def upgrade() -> None:
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seats_taken', sa.Integer(), server_default='0',
                                      nullable=False))
    op.execute(
        "UPDATE training_sessions SET seats_taken = (SELECT count(*) FROM enrollments"
        " WHERE enrollments.session_id = training_sessions.id"
        f" AND enrollments.state IN {HOLDING})")


def downgrade() -> None:
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_column('seats_taken')
