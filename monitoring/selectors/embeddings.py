"""Reading stored embeddings of distinct texts."""
from collections.abc import Iterable, Sequence

import numpy as np

from driftgate.errors import ApplicationError
from monitoring.embeddings import vectors_from_bytes
from monitoring.ingest.digest import digest_group_id
from monitoring.models import TextEmbedding

# Digests per IN (...) query: large enough to be few round trips, small enough for a quick index lookup.
LOOKUP_CHUNK = 5000


class EmbeddingsMissing(ApplicationError):
    """Some texts have not been embedded with the model yet (call texts_embed_missing first)."""

    code = "embeddings_missing"
    status_code = 409


def digest_groups(digests: Iterable[str]) -> np.ndarray:
    """Return the int64 group id of each digest (its first 64 bits): identical texts share a group."""
    return np.fromiter((digest_group_id(digest) for digest in digests), dtype=np.int64)


def stored_digests(*, digests: Iterable[str], model_key: str) -> set[str]:
    """Return which of the digests already have an embedding under the model."""
    wanted = list(dict.fromkeys(digests))
    found: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        found.update(TextEmbedding.objects.filter(model_key=model_key, digest__in=chunk)
                     .values_list("digest", flat=True))
    return found


def embeddings_for(*, digests: Sequence[str], model_key: str) -> np.ndarray:
    """Return float32 (len(digests), d) embeddings in the order given; repeated digests repeat their row."""
    unique = list(dict.fromkeys(digests))
    position = {digest: index for index, digest in enumerate(unique)}
    blobs: list[bytes | memoryview | None] = [None] * len(unique)
    dim = None
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        rows = TextEmbedding.objects.filter(model_key=model_key, digest__in=chunk)
        for digest, vector, row_dim in rows.values_list("digest", "vector", "dim"):
            if dim is not None and row_dim != dim:
                raise ValueError(f"embeddings under {model_key!r} have mixed dimensions ({dim} and {row_dim})")
            dim = row_dim
            blobs[position[digest]] = vector
    missing = [digest for digest, blob in zip(unique, blobs, strict=True) if blob is None]
    if missing:
        raise EmbeddingsMissing(f"{len(missing)} of {len(unique)} texts have no {model_key} embedding yet.",
                                extra={"model_key": model_key, "missing": len(missing), "examples": missing[:5]})
    if not unique:
        # Keys end in the dimension (all-MiniLM-L6-v2:384), so an empty request still has the right shape.
        tail = model_key.rsplit(":", 1)[-1]
        return np.zeros((0, int(tail) if tail.isdigit() else 0), dtype=np.float32)
    # None is missing (refused above), and with at least one text found its dimension is known.
    assert dim is not None
    matrix = vectors_from_bytes([blob for blob in blobs if blob is not None], dim)
    return matrix[[position[digest] for digest in digests]]
