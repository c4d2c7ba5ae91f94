"""Staff link their own LINE with a one-time code (staff_line_codes, staff_accounts.line_linked_at), and images
uploaded for broadcasts are kept in the database and served at /media/ (uploaded_images)

Revision ID: 0013_staff_link_media
Revises: 0012_event_answers
Create Date: 2026-12-03 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import db.base


revision = '0013_staff_link_media'
down_revision = '0012_event_answers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_linked_at', db.base.UTCDateTime(timezone=True), nullable=True))

    op.create_table('staff_line_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_session_id', sa.Integer(), nullable=True),
    sa.Column('sealed', sa.String(length=64), nullable=True),
    sa.Column('expires_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replaced_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_accounts.id'], name=op.f('fk_staff_line_codes_staff_id_staff_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_session_id'], ['staff_sessions.id'],
                            name=op.f('fk_staff_line_codes_staff_session_id_staff_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_line_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_staff_line_codes_code_hash'))
    )
    with op.batch_alter_table('staff_line_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_line_codes_staff_id'), ['staff_id'], unique=False)

    op.create_table('uploaded_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploaded_images')),
    sa.UniqueConstraint('token', name=op.f('uq_uploaded_images_token'))
    )
    with op.batch_alter_table('uploaded_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploaded_images_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('uploaded_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploaded_images_sha256'))
    op.drop_table('uploaded_images')

    with op.batch_alter_table('staff_line_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_line_codes_staff_id'))
    op.drop_table('staff_line_codes')

    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_column('line_linked_at')
