"""A voided import batch frees its file: (consultation, sha256) unique among live batches only

Revision ID: 0010_h_imports
Revises: 0010_h_paper
Create Date: 2026-12-02 15:40:00

An import batch's file was unique per consultation forever: once its batch was voided (typed
twice, the wrong consultation, …) the corrected or same file could never be imported again.
The file is now unique among the batches not voided (a partial unique index, on SQLite and
PostgreSQL alike).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_h_imports'
down_revision = '0010_h_paper'
branch_labels = None
depends_on = None

NOT_VOIDED = sa.text("voided_at IS NULL")


def _defer_foreign_keys() -> None:
    """On SQLite, check foreign keys at commit: batch mode drops and rebuilds import_batch,
    which response.batch_id references (PRAGMA foreign_keys cannot change inside the
    migration's transaction; defer_foreign_keys can, until that transaction ends)."""
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('PRAGMA defer_foreign_keys = ON')


def upgrade():
    _defer_foreign_keys()
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_constraint('uq_import_batch_consultation_id_sha256', type_='unique')
    op.create_index('uq_import_batch_file_not_voided', 'import_batch',
                    ['consultation_id', 'sha256'], unique=True,
                    sqlite_where=NOT_VOIDED, postgresql_where=NOT_VOIDED)


def downgrade():
    # Refused by the database if a file was imported again after its batch was voided.
    _defer_foreign_keys()
    op.drop_index('uq_import_batch_file_not_voided', table_name='import_batch')
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_import_batch_consultation_id_sha256',
                                          ['consultation_id', 'sha256'])
