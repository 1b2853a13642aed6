"""Deploy checks of the audit log: keys configured outside the database, an external sink, and a database user
that can neither rewrite nor switch off the append-only audit tables."""
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection

from governance.auditlog.keys import hmac_keyring, signing_keys
from governance.auditlog.sinks import configured_sinks

AUDIT_TABLES = ("governance_auditevent", "governance_auditcheckpoint")
# Ownership (or membership in the owning role) allows DISABLE TRIGGER and re-hashing; TRUNCATE skips row triggers.
_ROLE_QUERY = """
SELECT t.tablename, t.tableowner,
       r.rolsuper,
       pg_has_role(current_user, t.tableowner, 'USAGE') AS acts_as_owner,
       has_table_privilege(current_user, format('%%I.%%I', t.schemaname, t.tablename), 'TRUNCATE') AS can_truncate,
       has_table_privilege(current_user, format('%%I.%%I', t.schemaname, t.tablename), 'TRIGGER') AS can_trigger,
       has_table_privilege(current_user, format('%%I.%%I', t.schemaname, t.tablename), 'UPDATE') AS can_update,
       has_table_privilege(current_user, format('%%I.%%I', t.schemaname, t.tablename), 'DELETE') AS can_delete
FROM pg_tables t JOIN pg_roles r ON r.rolname = current_user
WHERE t.schemaname = current_schema() AND t.tablename = ANY(%s)
"""


@register(Tags.security, deploy=True)
def audit_keys_configured(app_configs=None, **kwargs):
    """Refuse production without the audit keys and an external checkpoint sink."""
    errors = []
    if settings.DRIFTGATE_AUDIT_DEV_KEYS:
        errors.append(Error("DRIFTGATE_AUDIT_DEV_KEYS is on: audit keys would be generated into var/ on this machine.",
                            hint="Configure DRIFTGATE_AUDIT_HMAC_KEYS(_FILE) and DRIFTGATE_AUDIT_SIGNING_KEY_FILE.",
                            id="governance.E101"))
    try:
        hmac_keyring()
    except ImproperlyConfigured as error:
        errors.append(Error(f"No usable audit HMAC key: {error}", id="governance.E102",
                            hint="Set DRIFTGATE_AUDIT_HMAC_KEYS_FILE to a file of id:base64 lines (32+ random bytes)."))
    try:
        signing_keys().require_private_key()
    except ImproperlyConfigured as error:
        errors.append(Error(f"No usable audit checkpoint signing key: {error}", id="governance.E103",
                            hint="Set DRIFTGATE_AUDIT_SIGNING_KEY_FILE to an Ed25519 private key (PEM, PKCS#8)."))
    if not configured_sinks():
        errors.append(Error("No external sink for audit checkpoints: a truncated or rewritten log would go unnoticed.",
                            hint="Set DRIFTGATE_AUDIT_CHECKPOINT_DIR (a WORM volume) or "
                                 "DRIFTGATE_AUDIT_CHECKPOINT_S3_BUCKET.", id="governance.E104"))
    return errors


def audit_role_problems() -> list[str]:
    """Return what the application's database user could do to the audit tables that it must not be able to."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (is_superuser,) = cursor.fetchone()
        cursor.execute(_ROLE_QUERY, [list(AUDIT_TABLES)])
        rows = cursor.fetchall()
    if is_superuser:
        return ["the database user is a superuser and can rewrite the audit tables"]
    problems = []
    for table, owner, superuser, acts_as_owner, can_truncate, can_trigger, can_update, can_delete in rows:
        if acts_as_owner:
            problems.append(f"the database user owns {table} (owner {owner}) and can disable its triggers")
        granted = [name for name, held in (("TRUNCATE", can_truncate), ("TRIGGER", can_trigger),
                                           ("UPDATE", can_update), ("DELETE", can_delete)) if held]
        if granted and not superuser and not acts_as_owner:
            problems.append(f"the database user holds {', '.join(granted)} on {table}")
    return problems


@register(Tags.security, deploy=True)
def audit_database_role(app_configs=None, databases=None, **kwargs):
    """Fail the deploy check when the application's database user can rewrite or switch off the audit log."""
    try:
        problems = audit_role_problems()
    except DatabaseError as error:
        return [Warning(f"Could not check the database role's rights on the audit tables: {error}",
                        id="governance.W105")]
    return [Error(f"Audit log: {problem}.", id="governance.E105",
                  hint="Run the application as a role with SELECT, INSERT only on the audit tables and migrate "
                       "as the owner role (README, Production).") for problem in problems]
