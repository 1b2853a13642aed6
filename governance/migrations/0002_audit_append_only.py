"""Make the audit log append-only at the database: UPDATE and DELETE on an event are refused by triggers."""
from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION governance_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % refused on governance_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditevent_no_update BEFORE UPDATE ON governance_auditevent
    FOR EACH ROW EXECUTE FUNCTION governance_auditevent_refuse_change();
CREATE TRIGGER governance_auditevent_no_delete BEFORE DELETE ON governance_auditevent
    FOR EACH ROW EXECUTE FUNCTION governance_auditevent_refuse_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS governance_auditevent_no_update ON governance_auditevent;
DROP TRIGGER IF EXISTS governance_auditevent_no_delete ON governance_auditevent;
DROP FUNCTION IF EXISTS governance_auditevent_refuse_change();
"""
SQLITE_UP = [
    """CREATE TRIGGER governance_auditevent_no_update BEFORE UPDATE ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused on governance_auditevent'); END;""",
    """CREATE TRIGGER governance_auditevent_no_delete BEFORE DELETE ON governance_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused on governance_auditevent'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS governance_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS governance_auditevent_no_delete;",
]


def install(apps, schema_editor):
    """Create the triggers for the database in use."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement, params=None)
    else:
        raise RuntimeError(f"No append-only triggers for database vendor {vendor!r}; the audit log cannot run there.")


def uninstall(apps, schema_editor):
    """Drop the triggers (only for migrating backwards in development)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
