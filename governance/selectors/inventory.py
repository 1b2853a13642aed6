"""Reading the inventory: use cases an actor may see, their members, model versions and effect goals."""
from django.db.models import OuterRef, QuerySet, Subquery

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.models import EffectGoal, EffectMeasurement, Membership, ModelVersion, UseCase
from governance.permissions import get_visible_use_case, require_member, use_cases_visible_to


def use_case_list(*, actor: Actor, stage: str | None = None, risk_tier: str | None = None,
                  halted: bool | None = None) -> QuerySet[UseCase]:
    """Return the use cases the actor may see, optionally filtered, ordered by slug."""
    queryset = use_cases_visible_to(actor)
    if stage:
        queryset = queryset.filter(stage=stage)
    if risk_tier:
        queryset = queryset.filter(risk_tier=risk_tier)
    if halted is not None:
        queryset = queryset.filter(halted=halted)
    return queryset.order_by("slug")


def use_case_get(*, actor: Actor, slug: str) -> UseCase:
    """Return a use case the actor may read, or NotFound `use_case_not_found`."""
    use_case = get_visible_use_case(actor=actor, slug=slug)
    require_member(actor=actor, use_case=use_case)
    return use_case


def membership_list(*, use_case: UseCase) -> QuerySet[Membership]:
    """Return who holds which role on the use case."""
    return Membership.objects.filter(use_case=use_case).select_related("user").order_by("role", "user__username")


def membership_get(*, use_case: UseCase, membership_id: int) -> Membership:
    """Return one membership of the use case, or NotFound `membership_not_found`."""
    membership = Membership.objects.select_related("user", "use_case").filter(use_case=use_case,
                                                                              pk=membership_id).first()
    if membership is None:
        raise NotFound(f"Membership {membership_id} does not exist on {use_case.slug!r}.", code="membership_not_found")
    return membership


def model_version_list(*, use_case: UseCase) -> QuerySet[ModelVersion]:
    """Return the use case's model versions, newest first."""
    return ModelVersion.objects.filter(use_case=use_case).select_related("use_case").order_by("-created_at", "-id")


def model_version_get(*, use_case: UseCase, model_version_id: int) -> ModelVersion:
    """Return one model version of the use case, or NotFound `model_version_not_found`."""
    version = ModelVersion.objects.select_related("use_case").filter(use_case=use_case, pk=model_version_id).first()
    if version is None:
        raise NotFound(f"Model version {model_version_id} does not exist on {use_case.slug!r}.",
                       code="model_version_not_found")
    return version


def effect_goal_list(*, use_case: UseCase) -> QuerySet[EffectGoal]:
    """Return the use case's effect goals, each annotated with its latest measured value and time."""
    latest = EffectMeasurement.objects.filter(goal=OuterRef("pk")).order_by("-measured_at", "-id")
    return (EffectGoal.objects.filter(use_case=use_case).select_related("use_case")
            .annotate(latest_value=Subquery(latest.values("value")[:1]),
                      latest_measured_at=Subquery(latest.values("measured_at")[:1]))
            .order_by("id"))


def effect_goal_get(*, use_case: UseCase, goal_id: int) -> EffectGoal:
    """Return one effect goal of the use case (annotated like the list), or NotFound `effect_goal_not_found`."""
    goal = effect_goal_list(use_case=use_case).filter(pk=goal_id).first()
    if goal is None:
        raise NotFound(f"Effect goal {goal_id} does not exist on {use_case.slug!r}.", code="effect_goal_not_found")
    return goal


def effect_measurement_list(*, goal: EffectGoal) -> QuerySet[EffectMeasurement]:
    """Return a goal's measurements, newest first."""
    return EffectMeasurement.objects.filter(goal=goal).select_related("goal", "recorded_by").order_by("-measured_at",
                                                                                                     "-id")
