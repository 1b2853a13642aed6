"""Writing events and playing the table owner in the audit tests."""
import contextlib

from django.db import connection, transaction

from governance.audit import audit_record
from tests.conftest import OWNER_ROLE, as_role


def write(actor, n=1, **kwargs):
    """Append n events in one transaction."""
    with transaction.atomic():
        return [audit_record(actor=actor, action="test.event", object_type="test", object_id=str(i), **kwargs)
                for i in range(n)]


@contextlib.contextmanager
def owner_with_triggers_off():
    """Act as the tables' owner (the migration role, not a superuser) with the append-only triggers disabled."""
    with as_role(OWNER_ROLE), connection.cursor() as cursor:
        # Deferred foreign-key checks of the inserts must fire before the table can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE governance_auditcheckpoint DISABLE TRIGGER USER")
        yield cursor
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE governance_auditcheckpoint ENABLE TRIGGER USER")


def kinds(result) -> set[str]:
    """Return the break kinds a verification found."""
    return {found.kind for found in result.breaks}


def find(result, kind):
    """Return the breaks of one kind."""
    return [found for found in result.breaks if found.kind == kind]
