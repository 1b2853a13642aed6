"""What the baseline page shows of a frozen baseline: its facts and its clusters named by their top terms, with the
baseline's most frequent prompts in each as examples."""
from collections import Counter

import numpy as np
from django.db.models import Count

from monitoring.drift.novelty import top_terms
from monitoring.drift.types import ClusterModel
from monitoring.embeddings import vectors_from_bytes
from monitoring.models import Baseline, TextEmbedding, TrafficRecord

# Enough distinct prompts to name every cluster, few enough to assign on a page load.
MAX_PROMPTS = 3000
EXAMPLES = 3


def baseline_clusters(baseline: Baseline) -> list[dict]:
    """Return each prompt cluster's size, novelty radius, top terms and example prompts (largest first)."""
    summary = baseline.summary if isinstance(baseline.summary, dict) else {}
    if not summary.get("prompt_clusters"):
        return []
    model = ClusterModel.from_dict(summary["prompt_clusters"])
    frequent = Counter(dict(
        TrafficRecord.objects.filter(use_case_id=baseline.use_case_id, timestamp__gte=baseline.start,
                                     timestamp__lt=baseline.end)
        .values("prompt_digest").annotate(n=Count("id")).order_by("-n")
        .values_list("prompt_digest", "n")[:MAX_PROMPTS]))
    if not frequent:
        return []
    texts = dict(TrafficRecord.objects.filter(use_case_id=baseline.use_case_id, prompt_digest__in=list(frequent))
                 .values_list("prompt_digest", "prompt").distinct())
    stored = list(TextEmbedding.objects.filter(model_key=baseline.embedding_model, digest__in=list(frequent))
                  .values_list("digest", "vector", "dim"))
    if not stored:
        return []
    digests = [row[0] for row in stored]
    vectors = vectors_from_bytes([row[1] for row in stored], stored[0][2])
    nearest = np.argmax(vectors @ model.centroids.T, axis=1)
    clusters = []
    for index in range(model.k):
        members = [digest for digest, cluster in zip(digests, nearest, strict=True) if cluster == index]
        members.sort(key=lambda digest: -frequent[digest])
        member_texts = [texts[digest] for digest in members if digest in texts]
        clusters.append({"index": index, "size": int(model.counts[index]), "radius": float(model.radii[index]),
                         "terms": top_terms(member_texts, summary.get("tfidf")) if member_texts else [],
                         "examples": member_texts[:EXAMPLES]})
    return sorted(clusters, key=lambda cluster: -cluster["size"])
