"""helpdesk

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:00:00.000000

The helpdesk mailbox triaged: tickets (category, language, sender matched to an officer, what
was known of them, a draft answer), their thread of mails, and where each category's new
tickets are posted in chat.

Numbered 0009 as planned, but chained after 0011: 0010 and 0011 were in the tree before it.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGE = sa.Enum('fr', 'nl', 'de', 'en', name='language', native_enum=False, length=20)


def upgrade() -> None:
    op.create_table('helpdesk_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('sender_name', sa.String(length=200), nullable=False),
    sa.Column('language', LANGUAGE, nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['officers.id'], name=op.f('fk_helpdesk_tickets_assignee_id_officers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_helpdesk_tickets_officer_id_officers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_helpdesk_tickets_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_tickets'))
    )
    with op.batch_alter_table('helpdesk_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_helpdesk_tickets_state_category', ['state', 'category'], unique=False)
        batch_op.create_index(batch_op.f('ix_helpdesk_tickets_sender'), ['sender'], unique=False)

    op.create_table('helpdesk_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_helpdesk_messages_officer_id_officers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['helpdesk_tickets.id'], name=op.f('fk_helpdesk_messages_ticket_id_helpdesk_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_helpdesk_messages_message_id'))
    )
    with op.batch_alter_table('helpdesk_messages', schema=None) as batch_op:
        batch_op.create_index('ix_helpdesk_messages_address_direction', ['address', 'direction', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_helpdesk_messages_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('helpdesk_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=400), nullable=False),
    sa.Column('language', LANGUAGE, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_routes')),
    sa.UniqueConstraint('category', 'platform', 'target', name=op.f('uq_helpdesk_routes_category'))
    )


def downgrade() -> None:
    op.drop_table('helpdesk_routes')
    with op.batch_alter_table('helpdesk_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_helpdesk_messages_ticket_id'))
        batch_op.drop_index('ix_helpdesk_messages_address_direction')
    op.drop_table('helpdesk_messages')
    with op.batch_alter_table('helpdesk_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_helpdesk_tickets_sender'))
        batch_op.drop_index('ix_helpdesk_tickets_state_category')
    op.drop_table('helpdesk_tickets')
