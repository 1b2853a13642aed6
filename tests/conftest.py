"""Fixtures shared by the whole suite.

On PostgreSQL the suite runs the application as the README's production section says to: migrations as the
superuser, then every table handed to an owner role, and the application connected under a role with DML grants
only, and without UPDATE, DELETE or TRUNCATE on the audit tables (`-c role=...` at connect, so threads and
in-process Celery workers get it too). Tests that play the owner or an attacker switch role explicitly.
"""
import contextlib

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.commands import flush
from django.db import connection

from driftgate.actors import Actor
from tests.factories import MembershipFactory, UseCaseFactory, UserFactory
from tests.oidc_provider_site.harness import oidc_provider, sso  # noqa: F401  (fixtures)
from tests.openai_stub import OpenAIStub


def _add_default_traffic_partition(cursor) -> None:
    """Give the partitioned traffic table a DEFAULT partition in the test database only.

    Tests store traffic of any date with the ORM; production creates each month's partition ahead (or on a
    backfill's first write), which the partition tests exercise by detaching this default partition.
    """
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('monitoring_trafficrecord')")
    if cursor.fetchone() == ("p",):
        cursor.execute("CREATE TABLE IF NOT EXISTS monitoring_trafficrecord_default "
                       "PARTITION OF monitoring_trafficrecord DEFAULT")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs ~0.5 s a user on 2 cores; tests need hashing, not its cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


APP_ROLE = "driftgate_test_app"
OWNER_ROLE = "driftgate_test_owner"
# The traffic table's partitions are created and dropped by the retention task, which runs as the application:
# the traffic tables have an owner role of their own that the application belongs to (never the audit tables').
TRAFFIC_OWNER_ROLE = "driftgate_test_traffic_owner"
AUDIT_TABLES = ("governance_auditevent", "governance_auditcheckpoint")
_ROLES_SQL = rf"""
DO $$ BEGIN
    CREATE ROLE {OWNER_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN
    CREATE ROLE {APP_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN
    CREATE ROLE {TRAFFIC_OWNER_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ DECLARE item record; BEGIN
    FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO {OWNER_ROLE}', item.tablename);
    END LOOP;
    FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'
                AND tablename LIKE 'monitoring\_trafficrecord%' LOOP
        EXECUTE format('ALTER TABLE public.%I OWNER TO {TRAFFIC_OWNER_ROLE}', item.tablename);
    END LOOP;
END $$;
GRANT CREATE ON SCHEMA public TO {TRAFFIC_OWNER_ROLE};
GRANT {TRAFFIC_OWNER_ROLE} TO {APP_ROLE};
GRANT {TRAFFIC_OWNER_ROLE} TO {OWNER_ROLE};
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
REVOKE UPDATE, DELETE, TRUNCATE ON {", ".join(AUDIT_TABLES)} FROM {APP_ROLE};
"""


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Create the test database as usual, then run the application as a non-owner role on PostgreSQL."""
    if connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            _add_default_traffic_partition(cursor)
            cursor.execute(_ROLES_SQL)
        connection.close()
    options = connection.settings_dict.setdefault("OPTIONS", {})
    original = options.get("options")
    options["options"] = f"-c role={APP_ROLE}"
    original_flush = flush.Command.handle

    def flush_as_owner(self, *args, **kwargs):
        # Emptying every table between transactional tests is the owner's job; the app role may not TRUNCATE.
        with as_role(OWNER_ROLE):
            return original_flush(self, *args, **kwargs)

    flush.Command.handle = flush_as_owner
    yield
    flush.Command.handle = original_flush
    with django_db_blocker.unblock():
        connection.close()
    if original is None:
        options.pop("options", None)
    else:
        options["options"] = original


@contextlib.contextmanager
def as_role(role: str | None):
    """Run the block as another PostgreSQL role (None: the superuser the session logged in as)."""
    with connection.cursor() as cursor:
        # RESET ROLE would return to the role set at connect time, not to the login user.
        cursor.execute("SELECT current_user, session_user")
        previous, login = cursor.fetchone()
        cursor.execute(f"SET ROLE {role or login}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {previous}")


@pytest.fixture(autouse=True)
def audit_checkpoint_sink(settings, tmp_path):
    """Each test gets its own checkpoint directory, so no checkpoint outlives the events it covered."""
    settings.DRIFTGATE_AUDIT_CHECKPOINT_DIR = str(tmp_path / "audit-checkpoints")
    return tmp_path / "audit-checkpoints"
@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache; one test's invalid tokens must not throttle the next test.

    Only the in-process cache is emptied: a test that points the cache at Redis uses a key prefix of its own.
    """
    backend = caches["default"]
    if isinstance(backend, LocMemCache):
        backend.clear()


@pytest.fixture
def postgres_only(db):
    """Skip when the suite is not running on PostgreSQL (make test always is)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run through `make test`)")


@pytest.fixture
def system_actor() -> Actor:
    """The actor of scheduled work."""
    return Actor.system("tests")


@pytest.fixture
def make_user(db):
    """Create a person; `make_user("ana")`."""
    def make(username: str | None = None, **kwargs):
        if username is not None:
            kwargs["username"] = username
        return UserFactory(**kwargs)
    return make


@pytest.fixture
def use_case(db):
    """A use case in pilot."""
    return UseCaseFactory()


@pytest.fixture
def grant(db):
    """Give a person a role on a use case; `grant(user, use_case, "product_owner")`."""
    def give(user, use_case, role):
        return MembershipFactory(user=user, use_case=use_case, role=role)
    return give


@pytest.fixture
def openai_stub():
    """A real OpenAI-compatible chat-completions server with scripted models on a free loopback port."""
    server = OpenAIStub().start()
    yield server
    server.stop()
