"""The static embedding tier: distilled offline by a command, its vectors, and its selection per use case.

The command distills from a small local BERT built here (the packaged model's 30,000-token vocabulary takes
minutes to distill on two cores: docs/benchmarks-embeddings.md); its tokenizer has a vocabulary of a few hundred
words of real prose, so a test distills in seconds through the same code the product runs.
"""
import json
import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import AuditEvent
from monitoring.ingest.digest import text_digest
from monitoring.models import Baseline, EmbeddingTier, MonitoringPolicy, TextEmbedding
from monitoring.services.baselines import baseline_create
from monitoring.services.embeddings import (
    StaticEmbeddingsNotDistilled,
    StaticTierRefusedForDrift,
    texts_embed_missing,
    tier_model_key,
)
from monitoring.services.policies import STATIC_TIER_OFFERED_FOR_DRIFT, policy_configure
from monitoring.static_embeddings import DISTILLED_MARKER, get_static_encoder, static_model_dir, static_model_key
from tests.factories import pydoc_sentences, traffic_rows

PCA_DIMS = 8
START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=30)
TEXTS = ["How do I pay my invoice?", "The cat sleeps on the sofa.", "Refunds go to the original payment method."]


def _tiny_source(directory: Path) -> Path:
    """Write a one-layer BERT with random (seeded) weights and a WordPiece vocabulary of real prose words."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({w for topic in pydoc_sentences().values() for s in topic[:3]
                    for w in re.findall(r"[a-z]+", s.lower())})[:300]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters),
                  *(w for w in words if w not in letters)]
    directory.mkdir(parents=True)
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocabulary)}, do_lower_case=True)
    tokenizer.save_pretrained(str(directory))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return _tiny_source(tmp_path_factory.mktemp("source") / "tiny-bert")


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, source) -> dict:
    """Distill once for the module through the command; return its stderr, JSON output and the var directory."""
    var = tmp_path_factory.mktemp("var")
    out, err = StringIO(), StringIO()
    with override_settings(VAR_DIR=var):
        call_command("embeddings_distill_static", "--source", str(source), "--pca-dims", str(PCA_DIMS), "--json",
                     stdout=out, stderr=err)
    return {"var": var, "stderr": err.getvalue(), "info": json.loads(out.getvalue())}


@pytest.fixture
def static_var(settings, distilled) -> Path:
    settings.VAR_DIR = distilled["var"]
    return distilled["var"]


def test_the_command_distills_offline_into_the_var_directory_and_reports_its_steps(static_var, distilled):
    info = distilled["info"]
    assert info["source"] == "tiny-bert" and info["dim"] == PCA_DIMS and info["pca_dims"] == PCA_DIMS
    assert info["directory"] == str(static_var / "static-embeddings" / "model")
    assert info["seconds"]["total"] >= info["seconds"]["distill"] >= 0
    assert (static_model_dir() / DISTILLED_MARKER).exists() and (static_model_dir() / "model.safetensors").exists()
    # Progress: one line per step with the time since the start.
    steps = [line for line in distilled["stderr"].splitlines() if re.match(r"\s*\[\s*\d+\.\d s\]", line)]
    assert len(steps) == 3 and "loading tiny-bert" in steps[0] and "saved" in steps[-1]
    assert static_model_key() == f"tiny-bert-static:{PCA_DIMS}"


def test_distilling_again_gives_the_same_model_byte_for_byte(static_var, source, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("embeddings_distill_static", "--source", str(source), "--pca-dims", str(PCA_DIMS),
                 stdout=StringIO(), stderr=StringIO())

    again = (tmp_path / "static-embeddings" / "model" / "model.safetensors").read_bytes()
    assert again == (static_var / "static-embeddings" / "model" / "model.safetensors").read_bytes()
    assert not list((tmp_path / "static-embeddings").glob(".*")), "no staging directory is left behind"


def test_a_source_that_is_not_a_local_directory_is_refused(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match="does not exist"):
        call_command("embeddings_distill_static", "--source", "sentence-transformers/all-MiniLM-L6-v2",
                     stdout=StringIO(), stderr=StringIO())
    assert static_model_key() is None


def test_static_vectors_are_unit_float32_rows_of_the_distilled_dimension(static_var):
    encoder = get_static_encoder()
    vectors = encoder.encode(TEXTS)

    assert encoder.backend == "static" and encoder.dim == PCA_DIMS
    assert vectors.shape == (len(TEXTS), PCA_DIMS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, PCA_DIMS)
    # The same text gives the same vector, wherever it sits in a batch.
    np.testing.assert_allclose(encoder.encode([TEXTS[2], TEXTS[0]])[0], vectors[2], atol=1e-6)
    assert get_static_encoder() is encoder


def test_a_text_with_no_known_token_is_a_zero_vector_not_nan(static_var):
    vectors = get_static_encoder().encode(["", "  "])
    assert not np.isnan(vectors).any()


def test_without_a_distilled_model_the_static_tier_is_refused_with_a_code(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with pytest.raises(StaticEmbeddingsNotDistilled) as refused:
        tier_model_key(EmbeddingTier.STATIC)
    assert refused.value.status_code == 400 and refused.value.code == "static_embeddings_not_distilled"
    with pytest.raises(FileNotFoundError):
        get_static_encoder()


@pytest.fixture
def owner_client(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "platform_owner")
    client = APIClient()
    client.force_login(user)
    return client, Actor.for_user(user)


def _url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}/policy"


@pytest.mark.django_db
def test_the_policy_shows_the_default_tier_and_refuses_an_unknown_one(owner_client, use_case):
    client, _ = owner_client
    assert client.get(_url(use_case)).json()["embedding_tier"] == "default"

    response = client.put(_url(use_case), {"embedding_tier": "fastest"}, format="json")

    assert response.status_code == 400 and response.json()["code"] == "invalid_embedding_tier"
    assert not MonitoringPolicy.objects.exists()


@pytest.mark.django_db
def test_selecting_the_static_tier_before_it_was_distilled_is_a_400_with_its_code(owner_client, use_case,
                                                                                  settings, tmp_path):
    settings.VAR_DIR = tmp_path
    client, _ = owner_client

    response = client.put(_url(use_case), {"embedding_tier": "static"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "static_embeddings_not_distilled" and "embeddings_distill_static" in body["message"]
    assert not MonitoringPolicy.objects.exists() and not AuditEvent.objects.filter(action="policy.configured")


@pytest.mark.django_db
@pytest.mark.skipif(STATIC_TIER_OFFERED_FOR_DRIFT, reason="the static tier is offered for drift")
def test_a_distilled_static_tier_is_refused_for_drift_with_the_measured_figures(owner_client, use_case,
                                                                               static_var):
    client, _ = owner_client

    response = client.put(_url(use_case), {"embedding_tier": "static"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == StaticTierRefusedForDrift.code
    figures = body["extra"]["measured"]
    assert figures["static"]["new_topic_5pct"] < figures["default"]["new_topic_5pct"] - 0.02
    assert not MonitoringPolicy.objects.exists()


@pytest.mark.django_db
def test_static_texts_are_stored_under_the_static_key_beside_the_default_ones(static_var):
    key = static_model_key()
    items = [(text_digest(text), text) for text in TEXTS]

    assert texts_embed_missing(items=items, model_key=key) == len(TEXTS)

    rows = TextEmbedding.objects.filter(model_key=key)
    assert rows.count() == len(TEXTS) and set(rows.values_list("dim", flat=True)) == {PCA_DIMS}
    assert texts_embed_missing(items=items, model_key=key) == 0


def _static_policy(actor, use_case) -> None:
    """A policy on the static tier, set on the row: the service refuses the tier for drift (tested above)."""
    policy_configure(actor=actor, use_case=use_case, config={}, auto_halt=False, window_hours=1, sample_size=5000,
                     material_degradation=0.1, enabled=True)
    MonitoringPolicy.objects.filter(use_case=use_case).update(embedding_tier=EmbeddingTier.STATIC)


@pytest.mark.django_db
def test_a_static_policy_records_its_next_baseline_under_the_static_key(owner_client, use_case, static_var,
                                                                        settings):
    _, actor = owner_client
    _static_policy(actor, use_case)
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 20
    traffic_rows(use_case=use_case, prompts=TEXTS * 10, start=START, end=END, prefix="st")

    baseline = baseline_create(actor=actor, use_case=use_case, start=START, end=END, sample_size=1000)

    assert baseline.embedding_model == f"tiny-bert-static:{PCA_DIMS}"


@pytest.mark.django_db
def test_a_static_policy_whose_model_is_gone_gets_no_baseline(owner_client, use_case, settings, tmp_path):
    _, actor = owner_client
    _static_policy(actor, use_case)
    settings.VAR_DIR = tmp_path
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 20
    traffic_rows(use_case=use_case, prompts=TEXTS * 10, start=START, end=END, prefix="st")

    with pytest.raises(StaticEmbeddingsNotDistilled):
        baseline_create(actor=actor, use_case=use_case, start=START, end=END, sample_size=1000)
    assert not Baseline.objects.exists()
