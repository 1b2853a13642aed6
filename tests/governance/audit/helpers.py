"""Writing events and playing the table owner in the audit tests."""
import base64
import contextlib
import secrets
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
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


def production_audit_env(tmp_path: Path) -> dict[str, str]:
    """Return the environment a production deployment sets for the audit log: key files and a sink directory."""
    keys = tmp_path / "audit-keys"
    keys.mkdir(exist_ok=True)
    hmac_file = keys / "hmac.keys"
    hmac_file.write_text(f"prod-1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n")
    signing_file = keys / "checkpoint.pem"
    signing_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return {"DRIFTGATE_AUDIT_HMAC_KEYS_FILE": str(hmac_file), "DRIFTGATE_AUDIT_SIGNING_KEY_FILE": str(signing_file),
            "DRIFTGATE_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints")}


def database_url_as(role: str) -> str:
    """Return a DATABASE_URL for the test database that connects under `role` (as the suite's app role does)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return (f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            f"?options={quote(f'-c role={role}')}")
