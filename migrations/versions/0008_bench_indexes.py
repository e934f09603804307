"""covering index for the count tables: response_theme (response_id, position, theme_id)

Revision ID: 0008_bench_indexes
Revises: 0001_initial
Create Date: 2026-11-23 13:30:00

Measured at 1,000,000 responses (bench/analysis.py): every theme count table looks up the
themes of each response by (response_id, position); with theme_id in the index the lookup
never touches the table (SQLite: "USING COVERING INDEX"). See bench/RESULTS.md.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_bench_indexes'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response_theme', schema=None) as batch_op:
        batch_op.create_index('ix_response_theme_response_position_theme',
                              ['response_id', 'position', 'theme_id'], unique=False)


def downgrade():
    with op.batch_alter_table('response_theme', schema=None) as batch_op:
        batch_op.drop_index('ix_response_theme_response_position_theme')
