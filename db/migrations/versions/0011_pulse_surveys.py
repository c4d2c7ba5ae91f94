"""Pulse surveys after meetings: surveys.kind and surveys.event_id, and meeting_pulses (one claim per meeting)

Revision ID: 0011_pulse_surveys
Revises: 0010_opinion_loop
Create Date: 2026-12-11 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import db.base


revision = '0011_pulse_surveys'
down_revision = '0010_opinion_loop'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='survey'))
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_surveys_event_id'), ['event_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_surveys_event_id_events'), 'events', ['event_id'], ['id'],
                                    ondelete='SET NULL')

    op.create_table('meeting_pulses',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_meeting_pulses_event_id_events'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_meeting_pulses_survey_id_surveys'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_meeting_pulses'))
    )


def downgrade() -> None:
    op.drop_table('meeting_pulses')

    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_surveys_event_id_events'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_surveys_event_id'))
        batch_op.drop_column('event_id')
        batch_op.drop_column('kind')
