"""factory_boy factories shared by the test suite."""
import factory
from django.contrib.auth import get_user_model

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
