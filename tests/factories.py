"""factory_boy factories shared by the test suite."""
import random
import re
from datetime import timedelta
from pydoc_data import topics as pydoc_topics

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from governance.models import Approach, Membership, RiskTier, UseCase
from monitoring.ingest.digest import text_digest
from monitoring.models import TrafficRecord

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A person who can sign with PASSWORD."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class UseCaseFactory(factory.django.DjangoModelFactory):
    """A use case in pilot."""

    class Meta:
        model = UseCase

    slug = factory.Sequence(lambda n: f"use-case-{n}")
    name = factory.Sequence(lambda n: f"Use case {n}")
    purpose = "Answer customer-service questions about invoices."
    approach = Approach.FINE_TUNING
    base_model = "mistral-7b-instruct"
    risk_tier = RiskTier.LIMITED
    regulatory_scopes = ["eu_ai_act"]


class MembershipFactory(factory.django.DjangoModelFactory):
    """A role on a use case."""

    class Meta:
        model = Membership

    use_case = factory.SubFactory(UseCaseFactory)
    user = factory.SubFactory(UserFactory)
    role = "viewer"


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """An active model version of a use case."""

    class Meta:
        model = "governance.ModelVersion"

    use_case = factory.SubFactory(UseCaseFactory)
    label = factory.Sequence(lambda n: f"v{n}")
    base_model = "mistral-7b-instruct"
    status = "active"


class MonitoringPolicyFactory(factory.django.DjangoModelFactory):
    """An enabled monitoring policy with the statistics engine's defaults (an empty config)."""

    class Meta:
        model = "monitoring.MonitoringPolicy"

    use_case = factory.SubFactory(UseCaseFactory)
    enabled = True
    config = factory.LazyFunction(dict)
    auto_halt = False
    window_hours = 1
    sample_size = 5000


class DriftRunFactory(factory.django.DjangoModelFactory):
    """A finished drift run of one hourly window."""

    class Meta:
        model = "monitoring.DriftRun"

    use_case = factory.SubFactory(UseCaseFactory)
    window_start = factory.Sequence(lambda n: timezone.now().replace(minute=0, second=0, microsecond=0)
                                    - timedelta(hours=n + 1))
    window_end = factory.LazyAttribute(lambda o: o.window_start + timedelta(hours=1))
    status = "succeeded"
    n = 500
    severity = "ok"
    finished_at = factory.LazyFunction(timezone.now)


class DriftSignalFactory(factory.django.DjangoModelFactory):
    """One signal of a run."""

    class Meta:
        model = "monitoring.DriftSignal"

    run = factory.SubFactory(DriftRunFactory)
    name = "prompt_drift"
    statistic = 0.71
    p_value = 1e-6
    p_adjusted = 6e-6
    effect_size = 0.42
    effect_unit = "drifted share"
    severity = factory.LazyAttribute(lambda o: o.run.severity)


class AlertFactory(factory.django.DjangoModelFactory):
    """An open alert on a run of the same severity."""

    class Meta:
        model = "monitoring.Alert"

    run = factory.SubFactory(DriftRunFactory, severity=factory.SelfAttribute("..severity"))
    use_case = factory.LazyAttribute(lambda o: o.run.use_case)
    severity = "review"
    status = "open"
    summary = factory.LazyFunction(lambda: {"raised_by": ["prompt_drift"], "signals": []})


def pydoc_sentences(*, min_length: int = 40, max_length: int = 200) -> dict[str, list[str]]:
    """Return real English prose sentences of the Python reference topics, by topic (offline, stable order)."""
    seen: set[str] = set()
    by_topic: dict[str, list[str]] = {}
    for name, text in sorted(pydoc_topics.topics.items()):
        for raw in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
            sentence = raw.strip()
            letters = sum(c.isalpha() or c.isspace() for c in sentence) / max(len(sentence), 1)
            if (min_length <= len(sentence) <= max_length and sentence[0].isupper() and letters > 0.85
                    and sentence not in seen):
                seen.add(sentence)
                by_topic.setdefault(name, []).append(sentence)
    return by_topic


def traffic_rows(*, use_case, prompts: list[str], start, end, scores: list[float] | None = None,
                 responses: list[str] | None = None, prefix: str = "r", seed: int = 0) -> int:
    """Bulk-insert one record per prompt, spread evenly over [start, end), as ingestion would store them."""
    rng = random.Random(seed)
    step = (end - start) / len(prompts)
    rows = []
    for index, prompt in enumerate(prompts):
        timestamp = start + step * index
        response = responses[index] if responses else "Please see the reference documentation."
        rows.append(TrafficRecord(
            use_case=use_case, external_id=f"{prefix}-{index}", timestamp=timestamp,
            hour=timestamp.replace(minute=0, second=0, microsecond=0), prompt=prompt, response=response,
            prompt_digest=text_digest(prompt), response_digest=text_digest(response) if response else "",
            score=scores[index] if scores else None, sample_key=rng.randrange(2**63)))
    TrafficRecord.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# A drift scenario on real prose: the baseline asks about two reference topics; a shifted window brings in a
# topic the baseline never saw (the debugger) and worse answers.
BASELINE_TOPICS = ("compound",)
NEW_TOPIC = "debugger"


def drift_scenario_traffic(*, use_case, start, end, records: int, new_topic_share: float = 0.0,
                           quality_drop: float = 0.0, prefix: str, seed: int) -> int:
    """Insert `records` prompts repeating baseline-topic sentences (and a share of new-topic ones) with scores."""
    sentences = pydoc_sentences()
    familiar = [sentence for topic in BASELINE_TOPICS for sentence in sentences[topic]]
    rng = random.Random(seed)
    prompts = [rng.choice(sentences[NEW_TOPIC]) if rng.random() < new_topic_share else rng.choice(familiar)
               for _ in range(records)]
    mean = 0.8 * (1 - quality_drop)
    scores = [min(1.0, max(0.0, rng.gauss(mean, 0.05))) for _ in range(records)]
    return traffic_rows(use_case=use_case, prompts=prompts, start=start, end=end, scores=scores, prefix=prefix,
                        seed=seed)
