"""audit events are append-only in the database too (PostgreSQL trigger)

The ORM already refuses to update or delete an AuditEvent; this makes PostgreSQL refuse it
for any client (psql, another program). TRUNCATE stays possible for the database owner
(test suites empty tables with it), and SQLite has no equivalent worth a trigger that would
also block the test suite's clean-up.

Revision ID: 0002_accounts
Revises: 0001_initial
Create Date: 2026-11-23 13:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002_accounts'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event rows are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_event_append_only
        BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
