"""event inquiries by user: "詳しく" typed refers to the events the user was shown last

Revision ID: 0008_inquiry_by_user
Revises: 0007_broadcast_queued
Create Date: 2026-12-02 05:20:00
"""

from alembic import op


revision = '0008_inquiry_by_user'
down_revision = '0007_broadcast_queued'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_inquiries', schema=None) as batch_op:
        batch_op.create_index('ix_event_inquiries_user_at', ['user_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event_inquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_event_inquiries_user_at')
