"""Fixtures shared by the whole suite."""
import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection

from driftgate.actors import Actor
from tests.factories import MembershipFactory, UseCaseFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs ~0.5 s a user on 2 cores; tests need hashing, not its cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
