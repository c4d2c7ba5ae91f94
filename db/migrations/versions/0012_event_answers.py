"""Events answer residents' usual questions (answers, faq, free) and carry the day's status message
(status_message, status_at, status_urgent)

Revision ID: 0012_event_answers
Revises: 0011_pulse_surveys
Create Date: 2026-12-02 18:20:00
"""

from alembic import op
import sqlalchemy as sa
import db.base


revision = '0012_event_answers'
down_revision = '0011_pulse_surveys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status_at', db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_urgent', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('faq', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('free', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        for column in ('free', 'faq', 'answers', 'status_urgent', 'status_at', 'status_message'):
            batch_op.drop_column(column)
