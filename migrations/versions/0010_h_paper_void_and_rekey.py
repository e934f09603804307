"""A voided paper form frees its serial: partial unique indexes, voidable keyings/resolutions

Revision ID: 0010_h_paper
Revises: 0009_response_theme_pattern
Create Date: 2026-12-02 15:30:00

A form's serial was unique among all responses, voided or not, and its keyings and resolution
were unique forever: once voided, a serial could never be keyed (or imported) again. The
serial is now unique among the responses not voided (state <> 'voided'), and the keyings and
resolutions of a form are unique among the live ones (voided_at IS NULL). Keyings and
resolutions gain who voided them, when and why; a resolution gains the supervisor's reason.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_h_paper'
down_revision = '0009_response_theme_pattern'
branch_labels = None
depends_on = None

NOT_VOIDED = sa.text("state <> 'voided'")
LIVE = sa.text("voided_at IS NULL")


def _foreign_keys(state: str) -> None:
    """On SQLite, turn foreign key checks off while batch mode rebuilds a referenced table.

    Batch mode drops the old table after copying it, and SQLite counts the rows referencing it
    (answers, themes, resolutions) as violations even though they point at the rebuilt table
    once it is renamed. The pragma is ignored inside a transaction, and the app's SQLite
    connections always BEGIN: so the migration's transaction is committed, the pragma set,
    and a new transaction begun (SQLite's documented way to alter a table). Before checks go
    back on, PRAGMA foreign_key_check must find nothing.
    """
    if op.get_bind().dialect.name != 'sqlite':
        return
    raw = op.get_bind().connection.dbapi_connection
    if state == 'ON':
        broken = raw.execute('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'foreign keys broken by the migration: {broken[:5]}')
    if raw.in_transaction:
        raw.execute('COMMIT')
    raw.execute(f'PRAGMA foreign_keys = {state}')
    raw.execute('BEGIN')


def _void_columns(batch_op) -> None:
    batch_op.add_column(sa.Column('voided_at', sa.DateTime(), nullable=True))
    batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))


def upgrade():
    _foreign_keys('OFF')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_constraint('uq_response_consultation_id_form_serial', type_='unique')
    op.create_index('uq_response_serial_not_voided', 'response',
                    ['consultation_id', 'form_serial'], unique=True,
                    sqlite_where=NOT_VOIDED, postgresql_where=NOT_VOIDED)

    with op.batch_alter_table('paper_keying', schema=None) as batch_op:
        batch_op.drop_constraint('uq_paper_keying_consultation_id_serial_keyed_by_id',
                                 type_='unique')
        batch_op.drop_constraint('uq_paper_keying_consultation_id_serial_pass_number',
                                 type_='unique')
        _void_columns(batch_op)
        batch_op.create_foreign_key(batch_op.f('fk_paper_keying_voided_by_id_user'), 'user',
                                    ['voided_by_id'], ['id'])
    op.create_index('uq_paper_keying_live_pass', 'paper_keying',
                    ['consultation_id', 'serial', 'pass_number'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index('uq_paper_keying_live_keyer', 'paper_keying',
                    ['consultation_id', 'serial', 'keyed_by_id'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)

    with op.batch_alter_table('paper_resolution', schema=None) as batch_op:
        batch_op.drop_constraint('uq_paper_resolution_consultation_id_serial', type_='unique')
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        _void_columns(batch_op)
        batch_op.create_foreign_key(batch_op.f('fk_paper_resolution_voided_by_id_user'), 'user',
                                    ['voided_by_id'], ['id'])
    op.create_index('uq_paper_resolution_live', 'paper_resolution',
                    ['consultation_id', 'serial'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    _foreign_keys('ON')


def downgrade():
    # Refused by the database if a serial was keyed, resolved or stored again after a void.
    _foreign_keys('OFF')
    op.drop_index('uq_paper_resolution_live', table_name='paper_resolution')
    with op.batch_alter_table('paper_resolution', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_paper_resolution_voided_by_id_user'),
                                 type_='foreignkey')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('reason')
        batch_op.create_unique_constraint('uq_paper_resolution_consultation_id_serial',
                                          ['consultation_id', 'serial'])

    op.drop_index('uq_paper_keying_live_keyer', table_name='paper_keying')
    op.drop_index('uq_paper_keying_live_pass', table_name='paper_keying')
    with op.batch_alter_table('paper_keying', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_paper_keying_voided_by_id_user'),
                                 type_='foreignkey')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
        batch_op.create_unique_constraint('uq_paper_keying_consultation_id_serial_pass_number',
                                          ['consultation_id', 'serial', 'pass_number'])
        batch_op.create_unique_constraint('uq_paper_keying_consultation_id_serial_keyed_by_id',
                                          ['consultation_id', 'serial', 'keyed_by_id'])

    op.drop_index('uq_response_serial_not_voided', table_name='response')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_response_consultation_id_form_serial',
                                          ['consultation_id', 'form_serial'])
    _foreign_keys('ON')
