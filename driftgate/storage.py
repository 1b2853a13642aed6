"""Files through Django's storage API under named aliases (`evidence`, `reports`), so web and worker machines share them.

A model's FileField keeps the storage object it was given when the class was built; `NamedStorage` looks the
alias up in `django.core.files.storage.storages` at every call instead, so the STORAGES setting (local disk by
default, an S3 bucket when DRIFTGATE_FILES_S3_BUCKET is set) decides where files go, in production and in a test
that switches it alike.
"""
import hashlib
import os
import tempfile
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.utils.deconstruct import deconstructible

EVIDENCE_STORAGE = "evidence"
REPORTS_STORAGE = "reports"
# Hashing reads in blocks this large: a few round trips to a bucket for a 20 MiB file, little memory.
HASH_BLOCK = 1024 * 1024


@deconstructible
class NamedStorage(Storage):
    """Delegate every storage call to the storage configured under `alias` in settings.STORAGES."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    @property
    def backend(self) -> Storage:
        """Return the configured storage (Django builds it once and rebuilds it when STORAGES changes)."""
        return storages[self.alias]

    def open(self, name: str, mode: str = "rb") -> Any:
        return self.backend.open(name, mode)

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        return self.backend.save(name, content, max_length=max_length)

    def _open(self, name: str, mode: str = "rb") -> Any:
        return self.backend.open(name, mode)

    def _save(self, name: str, content: Any) -> str:
        return self.backend.save(name, content)

    def get_valid_name(self, name: str) -> str:
        return self.backend.get_valid_name(name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.backend.get_available_name(name, max_length=max_length)

    def generate_filename(self, filename: str | os.PathLike[str]) -> str:
        return self.backend.generate_filename(filename)

    def delete(self, name: str) -> None:
        self.backend.delete(name)

    def exists(self, name: str) -> bool:
        return self.backend.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.backend.listdir(path)

    def size(self, name: str) -> int:
        return self.backend.size(name)

    def url(self, name: str | None) -> str:
        return self.backend.url(name)

    def path(self, name: str) -> str:
        return self.backend.path(name)

    def get_modified_time(self, name: str) -> Any:
        return self.backend.get_modified_time(name)


def evidence_storage() -> NamedStorage:
    """Return the storage of evidence files (a callable keeps the backend out of migrations)."""
    return NamedStorage(EVIDENCE_STORAGE)


def read_verified(storage: Storage, name: str, *, sha256: str) -> tuple[IO[bytes], bool]:
    """Copy a stored file into a local spool while hashing it; return (the spool at offset 0, hash matched).

    The bytes handed out are the bytes that were hashed: reading the object a second time after the check could
    serve different content than was verified. Raises FileNotFoundError when the file is gone.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
    digest = hashlib.sha256()
    try:
        with storage.open(name, "rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
                spool.write(block)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, digest.hexdigest() == sha256
