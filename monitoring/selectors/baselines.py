"""Reading baselines, and loading a frozen baseline's arrays for the drift statistics."""
import hashlib
import io
import threading
from collections import OrderedDict

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from driftgate.actors import Actor
from driftgate.errors import ApplicationError, NotFound
from governance.models import UseCase
from governance.permissions import require_member, use_cases_visible_to
from monitoring.drift import BaselineData, ClusterModel
from monitoring.models import Baseline, BaselineStatus

# The arrays a baseline artifact (compressed npz) may hold; embeddings are float16, the rest as named.
ARTIFACT_ARRAYS = ("prompt_embeddings", "prompt_groups", "response_embeddings", "response_groups", "scores",
                   "feedback")

_cache: "OrderedDict[tuple[int, str], BaselineData]" = OrderedDict()
_cache_lock = threading.Lock()


class BaselineArtifactInvalid(ApplicationError):
    """The stored artifact is missing or does not match its recorded SHA-256."""

    code = "baseline_artifact_invalid"
    status_code = 409


def baselines_for_use_case(*, actor: Actor, use_case: UseCase) -> QuerySet[Baseline]:
    """Return a use case's baselines, newest first, for a member; artifacts are not loaded."""
    require_member(actor=actor, use_case=use_case)
    return (Baseline.objects.filter(use_case=use_case).defer("artifact")
            .select_related("use_case", "model_version", "created_by").order_by("-created_at", "-pk"))


def baseline_get(*, actor: Actor, baseline_id: int) -> Baseline:
    """Return one baseline the actor may see (artifact not loaded), or NotFound."""
    baseline = (Baseline.objects.defer("artifact").select_related("use_case", "model_version", "created_by")
                .filter(pk=baseline_id, use_case__in=use_cases_visible_to(actor)).first())
    if baseline is None:
        raise NotFound(f"Baseline {baseline_id} does not exist or is not visible to you.", code="baseline_not_found",
                       extra={"id": baseline_id})
    return baseline


def frozen_baseline(*, use_case: UseCase) -> Baseline | None:
    """Return the use case's frozen baseline (artifact not loaded), if any."""
    return (Baseline.objects.defer("artifact").select_related("model_version")
            .filter(use_case=use_case, status=BaselineStatus.FROZEN).first())


def _read_only(array: np.ndarray) -> np.ndarray:
    # Cached arrays are shared by every run in the process; a caller writing into one would corrupt the next run.
    array.setflags(write=False)
    return array


def _unpack(artifact: bytes, summary: dict) -> BaselineData:
    with np.load(io.BytesIO(artifact), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}

    def embeddings(name: str) -> np.ndarray | None:
        return _read_only(arrays[name].astype(np.float32)) if name in arrays else None

    def optional(name: str) -> np.ndarray | None:
        return _read_only(arrays[name]) if name in arrays and len(arrays[name]) else None

    response_clusters = summary.get("response_clusters")
    return BaselineData(
        prompt_embeddings=_read_only(arrays["prompt_embeddings"].astype(np.float32)),
        prompt_groups=_read_only(arrays["prompt_groups"]),
        prompt_clusters=ClusterModel.from_dict(summary["prompt_clusters"]),
        response_embeddings=embeddings("response_embeddings"),
        response_groups=optional("response_groups"),
        response_clusters=ClusterModel.from_dict(response_clusters) if response_clusters else None,
        scores=optional("scores"),
        feedback=optional("feedback"),
        tfidf=summary.get("tfidf"),
    )


def load_baseline_data(baseline: Baseline) -> BaselineData:
    """Return a computed baseline's arrays and models, cached per process by (id, artifact SHA-256)."""
    key = (baseline.pk, baseline.artifact_sha256)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if not baseline.artifact_sha256:
        raise BaselineArtifactInvalid(f"Baseline {baseline.pk} has not been computed.", extra={"id": baseline.pk})
    # The artifact is tens of MB: fetched only on a cache miss, which is why callers load baselines deferred.
    artifact, summary = Baseline.objects.filter(pk=baseline.pk).values_list("artifact", "summary").get()
    artifact = bytes(artifact or b"")
    if hashlib.sha256(artifact).hexdigest() != baseline.artifact_sha256:
        raise BaselineArtifactInvalid(f"Baseline {baseline.pk}'s artifact does not match its SHA-256.",
                                      extra={"id": baseline.pk, "expected_sha256": baseline.artifact_sha256})
    data = _unpack(artifact, summary)
    with _cache_lock:
        _cache[key] = data
        _cache.move_to_end(key)
        while len(_cache) > settings.DRIFTGATE_BASELINE_CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def clear_baseline_cache() -> None:
    """Forget every cached baseline (tests, and after a settings change)."""
    with _cache_lock:
        _cache.clear()
