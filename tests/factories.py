"""factory_boy factories shared by the test suite."""
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from governance.models import Approach, Membership, RiskTier, UseCase

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
