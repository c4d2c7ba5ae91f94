"""Opinion loop: life cycle (受付 → 検討中 → 回答済 → 反映済 / 対応困難 with its reason), 担当課 (a list the office
edits), due dates, an internal memo, opinions entered by staff, the sender's quote token, the consent to show a
member's name, 公開 for the published table, and the sender's rating of the answer.

The stored statuses stay as they were (unread = 受付, in_progress = 検討中, answered = 回答済); reflected (反映済)
and difficult (対応困難) are new values of the same column.

Revision ID: 0010_opinion_loop
Revises: 0009_members_subcommittees
Create Date: 2026-12-10 10:00:00
"""

import datetime as dt

from alembic import op
import sqlalchemy as sa
import db.base


revision = '0010_opinion_loop'
down_revision = '0009_members_subcommittees'
branch_labels = None
depends_on = None

# The ward office's sections an opinion is usually assigned to; the office edits the list in the console.
DEPARTMENTS = ("総務課", "協働まちづくり課", "窓口サービス課", "保健福祉課")


def upgrade() -> None:
    departments = op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('name', name=op.f('uq_departments_name'))
    )

    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='line'))
        batch_op.add_column(sa.Column('member_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('name_consent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('quote_token', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('memo', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('first_replied_at', db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rated_at', db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_opinions_member_id_members'), 'members', ['member_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_opinions_department_id_departments'), 'departments',
                                    ['department_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_opinions_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opinions_department_id'), ['department_id'], unique=False)

    # what was answered before keeps its first answer's time (the median days to answer counts from it); a
    # member's 事前意見 is tied to the member who sent it (their name is shown only with their consent: none yet)
    op.execute("UPDATE opinions SET first_replied_at = replied_at WHERE replied_at IS NOT NULL")
    op.execute("UPDATE opinions SET member_id = (SELECT members.id FROM members WHERE members.user_id = "
               "opinions.user_id) WHERE kind = 'pre_meeting' AND user_id IS NOT NULL")
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(departments, [{"name": name, "active": True, "created_at": now} for name in DEPARTMENTS])


def downgrade() -> None:
    op.execute("UPDATE opinions SET status = 'answered' WHERE status IN ('reflected', 'difficult') "
               "AND reply_text IS NOT NULL")
    op.execute("UPDATE opinions SET status = 'in_progress' WHERE status IN ('reflected', 'difficult')")
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opinions_department_id'))
        batch_op.drop_index(batch_op.f('ix_opinions_event_id'))
        batch_op.drop_constraint(batch_op.f('fk_opinions_department_id_departments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_opinions_member_id_members'), type_='foreignkey')
        for column in ('rated_at', 'rating_comment', 'rating', 'first_replied_at', 'public', 'reason', 'memo',
                       'due_on', 'department_id', 'quote_token', 'name_consent', 'member_id', 'source'):
            batch_op.drop_column(column)
    op.drop_table('departments')
