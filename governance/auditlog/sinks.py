"""External append-only sinks for signed checkpoints: a directory (a WORM volume) and a Django storage (S3).

A sink only ever creates files: a name that exists is never written again, so a sink that the database's owner
cannot reach keeps every checkpoint ever signed. File names sort by tree size, so the latest is the last name.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from governance.auditlog.statements import Checkpoint, CheckpointFormatError, parse_document

PREFIX = "checkpoint-"
# What reading a sink raises when its volume or bucket is gone or refuses us.
SINK_READ_ERRORS = (OSError, BotoCoreError, ClientError)


class SinkError(Exception):
    """A checkpoint could not be written to an external sink."""


def checkpoint_name(checkpoint: Checkpoint) -> str:
    """Return the file name of a checkpoint: its tree size, zero-padded so names sort by size."""
    return f"{PREFIX}{checkpoint.tree_size:020d}.json"


def _read(name: str, data: bytes) -> tuple[Checkpoint | None, str]:
    try:
        checkpoint = parse_document(data)
    except CheckpointFormatError as error:
        return None, str(error)
    if checkpoint_name(checkpoint) != name:
        return None, f"the file is named {name} but holds the checkpoint of tree size {checkpoint.tree_size}"
    return checkpoint, ""


@dataclass
class DirectorySink:
    """Checkpoints as read-only files in a directory, each created once and synced to disk."""

    path: Path

    @property
    def label(self) -> str:
        """Return how the sink is named in findings."""
        return f"directory {self.path}"

    def write(self, checkpoint: Checkpoint) -> str:
        """Create the checkpoint's file; an existing file with the same bytes is fine, a different one is not."""
        self.path.mkdir(parents=True, exist_ok=True)
        name = checkpoint_name(checkpoint)
        target = self.path / name
        data = checkpoint.document_bytes()
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            if target.read_bytes() != data:
                raise SinkError(f"{target} already holds a different checkpoint") from None
            return name
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return name

    def latest(self) -> tuple[str, str, Checkpoint | None, str] | None:
        """Return (sink, name, checkpoint or None, error) of the largest checkpoint, or None for an empty sink."""
        if not self.path.is_dir():
            return None
        names = sorted(entry.name for entry in self.path.iterdir() if entry.name.startswith(PREFIX))
        if not names:
            return None
        return (self.label, names[-1], *_read(names[-1], (self.path / names[-1]).read_bytes()))

    def read(self, name: str) -> Checkpoint | None:
        """Return one stored checkpoint by name."""
        target = self.path / name
        return _read(name, target.read_bytes())[0] if target.is_file() else None


@dataclass
class StorageSink:
    """Checkpoints in a Django storage (an S3 bucket through django-storages), created once each."""

    alias: str
    storage: Storage

    @property
    def label(self) -> str:
        """Return how the sink is named in findings."""
        return f"storage {self.alias}"

    def write(self, checkpoint: Checkpoint) -> str:
        """Create the checkpoint's object unless it exists with the same bytes."""
        name = checkpoint_name(checkpoint)
        data = checkpoint.document_bytes()
        if self.storage.exists(name):
            with self.storage.open(name, "rb") as handle:
                if handle.read() != data:
                    raise SinkError(f"{self.label} already holds a different {name}")
            return name
        stored = self.storage.save(name, ContentFile(data))
        if stored != name:
            # A concurrent writer created the name first; the storage kept both rather than overwrite.
            raise SinkError(f"{self.label} stored {name} as {stored}: another writer got there first")
        return name

    def latest(self) -> tuple[str, str, Checkpoint | None, str] | None:
        """Return (sink, name, checkpoint or None, error) of the largest checkpoint, or None for an empty sink."""
        _, files = self.storage.listdir("")
        names = sorted(name for name in files if name.startswith(PREFIX))
        if not names:
            return None
        with self.storage.open(names[-1], "rb") as handle:
            return (self.label, names[-1], *_read(names[-1], handle.read()))

    def read(self, name: str) -> Checkpoint | None:
        """Return one stored checkpoint by name."""
        if not self.storage.exists(name):
            return None
        with self.storage.open(name, "rb") as handle:
            return _read(name, handle.read())[0]


def configured_sinks() -> list[DirectorySink | StorageSink]:
    """Return the sinks settings name: DRIFTGATE_AUDIT_CHECKPOINT_DIR and DRIFTGATE_AUDIT_CHECKPOINT_STORAGE."""
    sinks: list[DirectorySink | StorageSink] = []
    if settings.DRIFTGATE_AUDIT_CHECKPOINT_DIR:
        sinks.append(DirectorySink(Path(settings.DRIFTGATE_AUDIT_CHECKPOINT_DIR)))
    if settings.DRIFTGATE_AUDIT_CHECKPOINT_STORAGE:
        alias = settings.DRIFTGATE_AUDIT_CHECKPOINT_STORAGE
        sinks.append(StorageSink(alias=alias, storage=storages[alias]))
    return sinks
