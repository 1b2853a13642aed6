"""Topic novelty: window texts outside every baseline cluster, and what the new topics are about."""

from __future__ import annotations

import re

import numpy as np
from scipy import stats
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from monitoring.drift.clusters import nearest_centroid, unit_rows
from monitoring.drift.local import local_two_sample_test
from monitoring.drift.sampling import as_groups, collapse, paired_sample
from monitoring.drift.types import ClusterModel, SignalResult

# sklearn's default token pattern, kept here so topic naming tokenises exactly as fit_tfidf did.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKEN = re.compile(TOKEN_PATTERN)
# Emerging topics shown per run, largest first; more is a list nobody reads.
MAX_TOPICS = 5
# Agglomerative clustering is quadratic in memory; beyond this many novel texts a seeded sample
# is clustered and the rest join the nearest topic.
MAX_CLUSTERED = 2000
TERMS_PER_TOPIC = 5
EXAMPLES_PER_TOPIC = 3
MIN_TOPIC_TEXTS = 3
# Neighbours looked at to tell a new topic from a known one that grew, and the share of them from the
# baseline from which a group counts as known (see _kind).
KIND_NEIGHBOURS = 10
GREW_BASELINE_SHARE = 0.3


def fit_tfidf(texts: list[str], *, max_features: int = 5000) -> dict:
    """Fit the baseline vocabulary and IDF that topic naming needs, as a JSON-able dict."""
    # Distinct texts only: the IDF should say how common a word is across the kinds of question
    # users ask, not how often one FAQ prompt was repeated.
    distinct = sorted(set(texts))
    if not distinct:
        raise ValueError("fit_tfidf needs at least one text")
    vectorizer = TfidfVectorizer(
        lowercase=True, token_pattern=TOKEN_PATTERN, stop_words="english", max_features=max_features
    )
    try:
        vectorizer.fit(distinct)
    except ValueError:
        return {"terms": [], "idf": [], "n_documents": len(distinct)}
    terms = vectorizer.get_feature_names_out()
    return {
        "terms": [str(t) for t in terms],
        "idf": [float(v) for v in vectorizer.idf_],
        "n_documents": len(distinct),
    }


def _tokens(text: str) -> set[str]:
    """Lower-cased word tokens of a text without English stop words, as the vectorizer sees them."""
    return {t for t in _TOKEN.findall(text.lower()) if t not in ENGLISH_STOP_WORDS}


def top_terms(texts: list[str], tfidf: dict | None, *, n_terms: int = TERMS_PER_TOPIC) -> list[str]:
    """Name a group of texts by the words that are frequent in it and rare in the baseline."""
    idf = dict(zip(tfidf["terms"], tfidf["idf"], strict=True)) if tfidf else {}
    # A word the baseline never used gets the largest smoothed IDF sklearn would give (df = 0):
    # new words are the strongest sign of a new topic and must not be dropped.
    unseen_idf = float(np.log((1 + tfidf["n_documents"]) / 1.0) + 1.0) if tfidf else 1.0
    document_frequency: dict[str, int] = {}
    for text in texts:
        for token in _tokens(text):
            document_frequency[token] = document_frequency.get(token, 0) + 1
    # A name should describe the group, so a term must occur in at least two of its texts.
    floor = 2 if len(texts) >= 3 else 1
    scored = [
        (df * idf.get(term, unseen_idf), term) for term, df in document_frequency.items() if df >= floor
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [term for _, term in scored[:n_terms]]


def _label_groups(embeddings: np.ndarray, merge_distance: float, seed: int) -> np.ndarray:
    """Average-linkage labels of the novel texts, cut at the size of a baseline cluster."""
    n = len(embeddings)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    # Novel texts that sit as close together as the baseline's own topics form one topic, so one new
    # theme is not split into fragments and two unrelated ones are not merged. No k to guess.
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, MAX_CLUSTERED, replace=False)) if n > MAX_CLUSTERED else np.arange(n)
    clustering = AgglomerativeClustering(n_clusters=None, distance_threshold=merge_distance, linkage="average")
    sample_labels = clustering.fit_predict(embeddings[sample])
    if n <= MAX_CLUSTERED:
        return sample_labels
    centres = np.stack([embeddings[sample][sample_labels == j].mean(axis=0) for j in range(sample_labels.max() + 1)])
    return np.argmax(embeddings @ centres.T, axis=1)


def _kind(members: np.ndarray, baseline_texts: np.ndarray | None, window_texts: np.ndarray | None) -> dict:
    """Say whether a group is new (its neighbours are window texts) or a known kind that grew.

    For each member, look at its nearest texts among the sample's baseline texts and the window's
    other texts: a new topic's members sit among each other, while the members of a known kind of
    request that grew still have baseline texts (often the very same prompts) next to them. Measured
    on the held-out Python-documentation topics at 10% of 2,000-record windows: a new topic's
    largest group had 3-19% baseline neighbours, a known topic boosted to 10% of the window 45-70%.
    """
    if baseline_texts is None or window_texts is None or len(baseline_texts) == 0:
        return {"kind": "new"}
    pool = np.concatenate([baseline_texts, window_texts])
    k = min(KIND_NEIGHBOURS, len(pool) - 1)
    similarity = members @ pool.T
    # A member is in window_texts too; its own row (similarity 1) must not count as a neighbour.
    similarity[similarity >= 1.0 - 1e-6] = -np.inf
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    baseline_share = float(np.mean(nearest < len(baseline_texts)))
    return {"kind": "grew" if baseline_share >= GREW_BASELINE_SHARE else "new",
            "baseline_neighbour_share": baseline_share}


def _emerging_topics(
    embeddings: np.ndarray,
    texts: list[str] | None,
    counts: np.ndarray,
    tfidf: dict | None,
    merge_distance: float,
    seed: int,
    *,
    total_records: int | None = None,
    baseline_texts: np.ndarray | None = None,
    window_texts: np.ndarray | None = None,
    min_texts: int = 1,
) -> list[dict]:
    """Group the novel texts into topics and describe each by share, terms, examples and kind."""
    if len(embeddings) == 0:
        return []
    labels = _label_groups(embeddings, merge_distance, seed)
    total = total_records if total_records else int(counts.sum())
    topics = []
    for j in np.unique(labels):
        members = np.flatnonzero(labels == j)
        if members.size < min_texts:
            continue
        centre = embeddings[members].mean(axis=0)
        ordered = members[np.argsort(-(embeddings[members] @ centre), kind="mergesort")]
        member_texts = [texts[i] for i in members] if texts is not None else []
        records = int(counts[members].sum())
        topics.append(
            {
                "texts": int(members.size),
                "records": records,
                "share": records / total if total else 0.0,
                "terms": top_terms(member_texts, tfidf) if texts is not None else [],
                "examples": [texts[i] for i in ordered[:EXAMPLES_PER_TOPIC]] if texts is not None else [],
                **_kind(embeddings[members], baseline_texts, window_texts),
            }
        )
    topics.sort(key=lambda t: (-t["records"], -t["texts"], t["examples"]))
    return topics[:MAX_TOPICS]


def _radius_outside(clusters: ClusterModel, window: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which of the rows lie outside every baseline cluster radius."""
    nearest, distance = nearest_centroid(clusters, window[rows])
    return distance > clusters.radii[nearest]


def topic_novelty(
    clusters: ClusterModel,
    window: np.ndarray,
    window_texts: list[str] | None = None,
    *,
    window_groups: np.ndarray | None = None,
    baseline: np.ndarray | None = None,
    baseline_groups: np.ndarray | None = None,
    tfidf: dict | None = None,
    nominal: float = 0.01,
    max_per_side: int = 5000,
    seed: int = 0,
) -> SignalResult:
    """Test whether window texts gather where the baseline has few, and name the groups they form.

    With baseline rows (what a drift run passes) the test is the local nearest-neighbour test of
    `local.py` on the same balanced, collapsed sample as the embedding tests: it sees a same-
    language new topic at 10% of a 2,000-record window, which a radius around baseline clusters
    does not (such a topic lies inside the radii). The effect is the share of the window's distinct
    texts in window-heavy neighbourhoods beyond chance; the groups those texts form are the
    emerging topics, each with its share, top terms, three example prompts and whether it is new
    or a known kind that grew.

    Without baseline rows it falls back to the share of distinct window texts outside every
    cluster radius (99th percentile of held-out baseline distances), whose null count is
    beta-binomial: the exceedance probability of an order statistic of n held-out values is
    Beta(outside + 1, n - outside) (split conformal, Vovk 2012).
    """
    if window_texts is not None and len(window_texts) != len(window):
        raise ValueError("window_texts must hold one text per embedding row")
    if not 0.0 < nominal < 1.0:
        raise ValueError("nominal must be between 0 and 1")
    groups = as_groups(window_groups, window)
    if len(groups) == 0:
        raise ValueError("the window is empty")
    if baseline is not None:
        return _local_novelty(clusters, window, window_texts, groups, baseline, baseline_groups, tfidf,
                              max_per_side=max_per_side, seed=seed)
    distinct = collapse(groups, np.arange(len(window)))
    outside = _radius_outside(clusters, window, distinct.rows)
    n_texts = int(len(distinct.rows))
    n_novel = int(outside.sum())
    if clusters.holdout_size > 0:
        a = clusters.holdout_outside + 1.0
        b = float(clusters.holdout_size - clusters.holdout_outside)
        p_value = float(stats.betabinom.sf(n_novel - 1, n_texts, a, b))
        expected_rate = a / (a + b)
    else:
        p_value = float(stats.binom.sf(n_novel - 1, n_texts, nominal))
        expected_rate = nominal

    novel_rows = distinct.rows[outside]
    texts = [window_texts[i] for i in novel_rows] if window_texts is not None else None
    emerging = _emerging_topics(
        np.asarray(window[novel_rows], dtype=np.float32),
        texts,
        distinct.counts[outside],
        tfidf,
        float(np.median(clusters.radii)),
        seed,
        total_records=int(distinct.counts.sum()),
    )
    share = n_novel / n_texts
    return SignalResult(
        name="topic_novelty",
        statistic=float(n_novel),
        p_value=min(1.0, p_value),
        effect_size=float(share),
        effect_unit="novel_share",
        details={
            "test": "radius",
            "novel_texts": n_novel,
            "distinct_texts": n_texts,
            "novel_share_records": float(distinct.counts[outside].sum() / distinct.counts.sum()),
            "expected_share": float(expected_rate),
            "emerging_topics": emerging,
        },
    )


def _local_novelty(
    clusters: ClusterModel,
    window: np.ndarray,
    window_texts: list[str] | None,
    groups: np.ndarray,
    baseline: np.ndarray,
    baseline_groups: np.ndarray | None,
    tfidf: dict | None,
    *,
    max_per_side: int,
    seed: int,
) -> SignalResult:
    """Topic novelty by the local nearest-neighbour test, with the emerging groups it finds."""
    baseline_groups = as_groups(baseline_groups, baseline)
    rng = np.random.default_rng(seed)
    sample = paired_sample(baseline_groups, groups, max_per_side=max_per_side, rng=rng)
    b, w = sample.baseline, sample.window
    local = local_two_sample_test(baseline, window, sample, seed=seed)
    heavy = local.heavy_rows
    rows = w.rows[heavy]
    texts = [window_texts[i] for i in rows] if window_texts is not None else None
    vectors = unit_rows(window[rows])
    emerging = _emerging_topics(
        vectors,
        texts,
        w.counts[heavy],
        tfidf,
        float(np.median(clusters.radii)),
        seed,
        total_records=sample.n_records,
        baseline_texts=unit_rows(baseline[b.rows]),
        window_texts=unit_rows(window[w.rows[~np.isin(w.groups, b.groups)]]),
        # A group of one or two texts is what chance leaves in window-heavy neighbourhoods.
        min_texts=MIN_TOPIC_TEXTS,
    )
    outside = _radius_outside(clusters, window, w.rows)
    return SignalResult(
        name="topic_novelty",
        statistic=local.statistic,
        p_value=min(1.0, local.p_value),
        effect_size=local.excess_share,
        effect_unit="novel_share",
        details={
            "test": "local_knn",
            "z": local.z,
            "null_mean": local.null_mean,
            "null_sd": local.null_sd,
            "novel_texts": int(len(heavy)),
            "distinct_texts": int(len(w.rows)),
            "novel_share_records": float(w.counts[heavy].sum() / max(sample.n_records, 1)),
            "outside_radius_share": float(outside.mean()) if len(outside) else 0.0,
            "emerging_topics": emerging,
        },
    )
