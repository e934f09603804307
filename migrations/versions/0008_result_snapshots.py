"""Result snapshots: closed consultations' count tables kept across processes

Revision ID: 0008_result_snapshots
Revises: 0007_targets
Create Date: 2026-11-26 01:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_result_snapshots'
down_revision = '0007_targets'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('result_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], name=op.f('fk_result_snapshot_consultation_id_consultation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_snapshot')),
    sa.UniqueConstraint('consultation_id', 'key', name=op.f('uq_result_snapshot_consultation_id_key'))
    )


def downgrade():
    op.drop_table('result_snapshot')
