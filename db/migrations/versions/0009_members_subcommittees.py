"""部会 as their own list (active, retired), members' contact details and retirement, link-code sheets

Revision ID: 0009_members_subcommittees
Revises: 0008_inquiry_by_user
Create Date: 2026-12-04 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import db.base


revision = '0009_members_subcommittees'
down_revision = '0008_inquiry_by_user'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subcommittees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('retired_at', db.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_method', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('retired_at', db.base.UTCDateTime(timezone=True), nullable=True))

    op.create_table('link_code_sheets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('staff_session_id', sa.Integer(), nullable=False),
    sa.Column('key_check', sa.String(length=64), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('expires_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_session_id'], ['staff_sessions.id'],
                            name=op.f('fk_link_code_sheets_staff_session_id_staff_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_code_sheets'))
    )
    with op.batch_alter_table('link_code_sheets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_code_sheets_staff_session_id'), ['staff_session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('link_code_sheets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_code_sheets_staff_session_id'))
    op.drop_table('link_code_sheets')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
        batch_op.drop_column('contact_method')
        batch_op.drop_column('email')
        batch_op.drop_column('phone')

    with op.batch_alter_table('subcommittees', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
        batch_op.drop_column('active')
