"""The static embedding tier: a model2vec model distilled on this installation from the local sentence-transformer.

A static model keeps one vector per token of the source model's vocabulary (each token run once through the
transformer, then PCA-reduced and SIF-weighted) and embeds a text as the normalised mean of its tokens' vectors:
no transformer runs at embedding time, so it is far faster, and it knows nothing of word order or context.
Nothing is downloaded: `distill_static` needs only the local weights (the packaged all-MiniLM-L6-v2 unless
DRIFTGATE_EMBEDDING_MODEL names another directory), and the result lives under DRIFTGATE_VAR_DIR.

Its vectors are not comparable with the source model's, so they are stored under their own model key
(`all-MiniLM-L6-v2-static:256`); a baseline frozen under one tier is compared only with windows of the same tier.
"""
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from monitoring.embeddings import Encoder, _model_location, embedding_threads

STATIC_BACKEND = "static"
# The dimension model2vec recommends; it keeps the PCA components that carry most of MiniLM's variance.
STATIC_PCA_DIMS = 256
# The marker of a finished distillation, written last: a directory without it is an interrupted one.
DISTILLED_MARKER = "driftgate-distilled.json"

_static_encoders: dict[str, Encoder] = {}
_static_lock = threading.Lock()


def static_model_dir() -> Path:
    """Return where the distilled static model of this installation lives."""
    return Path(settings.VAR_DIR) / "static-embeddings" / "model"


def static_model_info() -> dict[str, Any] | None:
    """Return what the distillation recorded (source, dimension, time), or None if none finished here."""
    marker = static_model_dir() / DISTILLED_MARKER
    if not marker.exists():
        return None
    info: dict[str, Any] = json.loads(marker.read_text())
    return info


def static_model_key() -> str | None:
    """Return the key static vectors are stored under, e.g. all-MiniLM-L6-v2-static:256; None if not distilled."""
    info = static_model_info()
    return None if info is None else f"{info['source']}-static:{info['dim']}"


def distill_static(*, source: str | None = None, pca_dims: int = STATIC_PCA_DIMS,
                   progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Distill a static model from the local sentence-transformer `source` (default: the configured model).

    Deterministic: one forward pass per vocabulary token, an eigendecomposition PCA and a fixed SIF weighting, no
    sampling. Written to a temporary directory and renamed into place, so an interrupted run never leaves a
    half-written model where workers load it. Returns what it recorded, with the time each step took.
    """
    import torch
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast

    name, path = _model_location(source)
    torch.set_num_threads(embedding_threads())
    started = time.perf_counter()
    progress(f"loading {name} from its local directory")
    model = AutoModel.from_pretrained(str(path))
    tokenizer = AutoTokenizer.from_pretrained(str(path), use_fast=True)
    if not isinstance(tokenizer, PreTrainedTokenizerFast):  # model2vec distils from a fast tokenizer only
        raise ValueError(f"{name} has no fast tokenizer to distil from")
    loaded = time.perf_counter()
    progress(f"embedding each of the {len(tokenizer)} vocabulary tokens once, then PCA to {pca_dims} dimensions")
    with torch.inference_mode():
        static = distill_from_model(model=model, tokenizer=tokenizer, pca_dims=pca_dims, device="cpu")
    distilled = time.perf_counter()
    # The source's short name, not its path: the directory must not depend on where the weights were installed.
    static.config["tokenizer_name"] = name
    static.base_model_name = name
    target = static_model_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".distill-"))
    try:
        static.save_pretrained(staging)
        info: dict[str, Any] = {"source": name, "dim": int(static.dim), "pca_dims": pca_dims, "vocabulary": len(static.tokens),
                "seconds": {"load": round(loaded - started, 1), "distill": round(distilled - loaded, 1)}}
        (staging / DISTILLED_MARKER).write_text(json.dumps(info, indent=2))
        # mkdtemp makes the directory private; workers running as another user must be able to read the model.
        staging.chmod(0o755)
        for file in staging.iterdir():
            file.chmod(0o644)
        previous = target.with_name(f".previous-{os.getpid()}")
        if target.exists():
            target.rename(previous)
        staging.rename(target)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with _static_lock:
        _static_encoders.clear()
    info["seconds"]["total"] = round(time.perf_counter() - started, 1)
    progress(f"saved {info['vocabulary']} token vectors of {info['dim']} dimensions in {info['seconds']['total']} s")
    return info


class StaticRunner:
    """A model2vec StaticModel, embedding in-process (no worker pool: Celery workers must not fork)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: list[str], batch_size: int) -> Any:
        """Return float32 L2-normalised embeddings, one row per text."""
        import numpy as np

        vectors = np.asarray(self.model.encode(texts, batch_size=max(batch_size, 1024), use_multiprocessing=False,
                                               normalize=True), dtype=np.float32)
        # A text with no known token has the zero vector; it stays zero instead of turning into NaN.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def get_static_encoder() -> Encoder:
    """Return the process-wide encoder of the distilled static model; FileNotFoundError if it was not distilled."""
    key = static_model_key()
    if key is None:
        raise FileNotFoundError(f"No static embedding model has been distilled in {static_model_dir()}")
    encoder = _static_encoders.get(key)
    if encoder is not None:
        return encoder
    with _static_lock:
        encoder = _static_encoders.get(key)
        if encoder is None:
            from model2vec import StaticModel

            model = StaticModel.from_pretrained(str(static_model_dir()))
            encoder = Encoder(model=model, model_key=key, dim=int(model.dim), backend=STATIC_BACKEND,
                              static=StaticRunner(model))
            _static_encoders[key] = encoder
    return encoder
