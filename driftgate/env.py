"""Small helpers that read settings from the environment and fail loudly on a bad value."""
import ipaddress
import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return the variable as a string, or the default when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean; anything but a known spelling is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return the variable as an integer, checked against an optional minimum."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    return value


def env_float(name: str, default: float) -> float:
    """Return the variable as a float."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list of CIDR networks (`10.0.0.0/8, ::1`), each checked to parse."""
    items = env_list(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP network (use CIDR, e.g. 10.0.0.0/8)") from exc
    return items


def s3_storage(*, prefix: str, location: str, file_overwrite: bool = False) -> dict:
    """Return a STORAGES entry for an S3(-compatible) bucket named by `<prefix>_S3_BUCKET`, `_S3_ENDPOINT_URL`,
    `_S3_REGION`; credentials come from the usual AWS_* variables (or the machine's role), never from code."""
    bucket = env_str(f"{prefix}_S3_BUCKET")
    if not bucket:
        raise ImproperlyConfigured(f"{prefix}_S3_BUCKET is not set")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env_str(f"{prefix}_S3_ENDPOINT_URL") or None,
            "region_name": env_str(f"{prefix}_S3_REGION") or None,
            "location": location,
            "file_overwrite": file_overwrite,
        },
    }


def s3_files_storages() -> dict[str, dict]:
    """Return the `evidence` and `reports` STORAGES entries for the bucket DRIFTGATE_FILES_S3_BUCKET names.

    One bucket holds both: evidence names already start with `evidence/`, reports get `reports/` beside them,
    under DRIFTGATE_FILES_S3_PREFIX when one is set.
    """
    prefix = env_str("DRIFTGATE_FILES_S3_PREFIX").strip("/")
    return {"evidence": s3_storage(prefix="DRIFTGATE_FILES", location=prefix),
            "reports": s3_storage(prefix="DRIFTGATE_FILES", location="/".join(filter(None, [prefix, "reports"])))}


def database_from_url(url: str) -> dict:
    """Translate `postgres://user:pw@host:port/name` or `sqlite:///path` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("//"):
            path = path[1:]
        elif path.startswith("/"):
            path = path[1:] or ":memory:"
        # IMMEDIATE takes the write lock at BEGIN, so two writers of the audit chain queue up
        # instead of failing when the second one upgrades its read lock.
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options: dict = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        if "prepare_threshold" in options:
            # psycopg takes a number or None ("none": never prepare, as PgBouncer's transaction pooling before
            # 1.21 needs); the audit log prepares its insert unless this is set.
            value = options["prepare_threshold"].strip().lower()
            never = value in {"none", ""}
            if not never and not value.isdigit():
                raise ImproperlyConfigured(f"DATABASE_URL prepare_threshold must be a number or none, not {value!r}")
            options["prepare_threshold"] = None if never else int(value)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (postgres:// or sqlite:///)")
