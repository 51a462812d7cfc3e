"""reply token hashes and mailbox failure counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:12:31.512204

Reply tokens are stored as their SHA-256 (hex) from now on; existing rows are hashed in place.
Going down, a token can only come back from the Message-ID of the notification that carried it
(`<hex16.TOKEN@domain>` in outbox_messages); rows whose token cannot be found there are
deleted, since no reply could match them any more.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKEN_IN_MESSAGE_ID = re.compile(r"\.([a-z2-7]{26})@")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table('mailbox_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_uid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failures', sa.Integer(), server_default='0', nullable=False))

    op.add_column('reply_tokens', sa.Column('token_hash', sa.String(length=64), nullable=True))
    tokens = sa.table('reply_tokens', sa.column('token', sa.String), sa.column('token_hash', sa.String))
    bind = op.get_bind()
    for (token,) in bind.execute(sa.select(tokens.c.token)).all():
        bind.execute(tokens.update().where(tokens.c.token == token).values(token_hash=_hash(token)))
    with op.batch_alter_table('reply_tokens', schema=None) as batch_op:
        batch_op.drop_constraint('pk_reply_tokens', type_='primary')
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_primary_key('pk_reply_tokens', ['token_hash'])
        batch_op.drop_column('token')


def downgrade() -> None:
    op.add_column('reply_tokens', sa.Column('token', sa.String(length=40), nullable=True))
    tokens = sa.table('reply_tokens', sa.column('token', sa.String), sa.column('token_hash', sa.String))
    outbox = sa.table('outbox_messages', sa.column('message_id', sa.String))
    bind = op.get_bind()
    known = {}
    for (message_id,) in bind.execute(sa.select(outbox.c.message_id)).all():
        found = _TOKEN_IN_MESSAGE_ID.search(message_id or "")
        if found:
            known[_hash(found.group(1))] = found.group(1)
    for (token_hash,) in bind.execute(sa.select(tokens.c.token_hash)).all():
        if token_hash in known:
            bind.execute(tokens.update().where(tokens.c.token_hash == token_hash)
                         .values(token=known[token_hash]))
        else:
            bind.execute(tokens.delete().where(tokens.c.token_hash == token_hash))
    with op.batch_alter_table('reply_tokens', schema=None) as batch_op:
        batch_op.drop_constraint('pk_reply_tokens', type_='primary')
        batch_op.alter_column('token', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_primary_key('pk_reply_tokens', ['token'])
        batch_op.drop_column('token_hash')

    with op.batch_alter_table('mailbox_checkpoints', schema=None) as batch_op:
        batch_op.drop_column('failures')
        batch_op.drop_column('failing_uid')
