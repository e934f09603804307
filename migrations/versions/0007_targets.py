"""Participation targets per region or municipality

Revision ID: 0007_targets
Revises: 0006_workshops
Create Date: 2026-11-23 13:13:47.020850

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_targets'
down_revision = '0006_workshops'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('participation_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('region_number', sa.Integer(), nullable=True),
    sa.Column('municipality_code', sa.String(length=5), nullable=True),
    sa.Column('respondents', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(region_number IS NULL) <> (municipality_code IS NULL)', name=op.f('ck_participation_target_one_place')),
    sa.CheckConstraint('respondents >= 0', name=op.f('ck_participation_target_respondents')),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], name=op.f('fk_participation_target_consultation_id_consultation')),
    sa.ForeignKeyConstraint(['municipality_code'], ['municipality.code'], name=op.f('fk_participation_target_municipality_code_municipality')),
    sa.ForeignKeyConstraint(['region_number'], ['region.number'], name=op.f('fk_participation_target_region_number_region')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_participation_target_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participation_target')),
    sa.UniqueConstraint('consultation_id', 'municipality_code', name=op.f('uq_participation_target_consultation_id_municipality_code')),
    sa.UniqueConstraint('consultation_id', 'region_number', name=op.f('uq_participation_target_consultation_id_region_number'))
    )
    with op.batch_alter_table('participation_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participation_target_consultation_id'), ['consultation_id'], unique=False)
    # Covering index for the participation map's count by municipality and channel.
    op.create_index('ix_response_participation', 'response',
                    ['consultation_id', 'state', 'municipality_code', 'channel'], unique=False)


def downgrade():
    op.drop_index('ix_response_participation', table_name='response')
    with op.batch_alter_table('participation_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participation_target_consultation_id'))

    op.drop_table('participation_target')
