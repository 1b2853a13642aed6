"""Topic novelty: window texts outside every baseline cluster, and what the new topics are about."""

from __future__ import annotations

import re

import numpy as np
from scipy import stats
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from monitoring.drift.clusters import nearest_centroid
from monitoring.drift.sampling import as_groups, collapse
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
    idf = dict(zip(tfidf["terms"], tfidf["idf"])) if tfidf else {}
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


def _emerging_topics(
    embeddings: np.ndarray,
    texts: list[str] | None,
    counts: np.ndarray,
    tfidf: dict | None,
    merge_distance: float,
    seed: int,
) -> list[dict]:
    """Group the novel texts into topics and describe each by terms and example prompts."""
    n = len(embeddings)
    if n == 0:
        return []
    if n == 1:
        labels = np.zeros(1, dtype=np.int64)
    else:
        # Average-linkage clustering cut at the size of a baseline cluster: novel texts that sit as
        # close together as the baseline's own topics form one topic, so one new theme is not
        # split into fragments and two unrelated ones are not merged. No k to guess.
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, MAX_CLUSTERED, replace=False)) if n > MAX_CLUSTERED else np.arange(n)
        clustering = AgglomerativeClustering(n_clusters=None, distance_threshold=merge_distance, linkage="average")
        sample_labels = clustering.fit_predict(embeddings[sample])
        centres = np.stack([embeddings[sample][sample_labels == j].mean(axis=0) for j in range(sample_labels.max() + 1)])
        labels = np.argmax(embeddings @ centres.T, axis=1) if n > MAX_CLUSTERED else sample_labels
    topics = []
    for j in np.unique(labels):
        members = np.flatnonzero(labels == j)
        centre = embeddings[members].mean(axis=0)
        ordered = members[np.argsort(-(embeddings[members] @ centre), kind="mergesort")]
        member_texts = [texts[i] for i in members] if texts is not None else []
        topics.append(
            {
                "texts": int(members.size),
                "records": int(counts[members].sum()),
                "terms": top_terms(member_texts, tfidf) if texts is not None else [],
                "examples": [texts[i] for i in ordered[:EXAMPLES_PER_TOPIC]] if texts is not None else [],
            }
        )
    topics.sort(key=lambda t: (-t["records"], -t["texts"], t["examples"]))
    return topics[:MAX_TOPICS]


def topic_novelty(
    clusters: ClusterModel,
    window: np.ndarray,
    window_texts: list[str] | None = None,
    *,
    window_groups: np.ndarray | None = None,
    tfidf: dict | None = None,
    nominal: float = 0.01,
    seed: int = 0,
) -> SignalResult:
    """Share of distinct window texts outside every baseline cluster radius, tested against chance.

    Each distinct text counts once, so a retried prompt cannot make a topic look big. The radii
    are the 99th percentile of held-out baseline distances, so about 1% of texts from the baseline
    distribution lie outside by construction; the test asks whether more do. Because that 1% is
    itself estimated from a finite held-out set, the null count is beta-binomial: the exceedance
    probability of an order statistic of n held-out values is Beta(outside + 1, n - outside)
    (split conformal, Vovk 2012 "Conditional validity of inductive conformal predictors"), which
    keeps the test calibrated where a plain binomial against 1% alarms on an unlucky holdout.
    """
    if window_texts is not None and len(window_texts) != len(window):
        raise ValueError("window_texts must hold one text per embedding row")
    if not 0.0 < nominal < 1.0:
        raise ValueError("nominal must be between 0 and 1")
    groups = as_groups(window_groups, window)
    distinct = collapse(groups, np.arange(len(window)))
    nearest, distance = nearest_centroid(clusters, window[distinct.rows])
    outside = distance > clusters.radii[nearest]
    n_texts = int(len(distinct.rows))
    n_novel = int(outside.sum())
    if n_texts == 0:
        raise ValueError("the window is empty")

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
    )
    share = n_novel / n_texts
    return SignalResult(
        name="topic_novelty",
        statistic=float(n_novel),
        p_value=min(1.0, p_value),
        effect_size=float(share),
        effect_unit="novel_share",
        details={
            "novel_texts": n_novel,
            "distinct_texts": n_texts,
            "novel_share_records": float(distinct.counts[outside].sum() / distinct.counts.sum()),
            "expected_share": float(expected_rate),
            "emerging_topics": emerging,
        },
    )
