"""Object-level rules: who may see and change what on a use case. Services call these; views never decide.

One rule for reading, shared by pages, the API and tokens (a token acts for its owner): a person reads the use
cases on which they hold a role. Holders of the organisation-wide reader role and superusers read every use case.
The staff flag only opens the admin; it gives no read access to use cases.
"""
from collections.abc import Iterable

from django.db.models import QuerySet

from driftgate.actors import Actor
from driftgate.errors import NotFound, PermissionRefused
from driftgate.permissions import scope_name
from governance.models import Membership, OrganisationRole, Role, UseCase


def _person(actor: Actor):
    user = actor.user
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user


def reads_whole_organisation(actor: Actor) -> bool:
    """Return whether the actor reads every use case, the whole audit log and every report (read-only)."""
    user = _person(actor)
    if user is None:
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: a page asks this several times per request.
    cached = getattr(user, "_driftgate_reads_organisation", None)
    if cached is None:
        cached = OrganisationRole.objects.filter(user=user, revoked_at__isnull=True).exists()
        user._driftgate_reads_organisation = cached
    return cached


def roles_of(actor: Actor, use_case: UseCase) -> set[str]:
    """Return the roles the actor's person holds on the use case."""
    user = _person(actor)
    if user is None:
        return set()
    return set(Membership.objects.filter(use_case=use_case, user=user).values_list("role", flat=True))


def use_cases_visible_to(actor: Actor) -> QuerySet[UseCase]:
    """Return the use cases the actor may read: those with a membership, or all for organisation-wide readers."""
    if reads_whole_organisation(actor):
        return UseCase.objects.all()
    user = _person(actor)
    if user is None:
        return UseCase.objects.none()
    # A subquery rather than a join: no DISTINCT, so callers may still lock, order and annotate freely.
    return UseCase.objects.filter(pk__in=Membership.objects.filter(user=user).values("use_case_id"))


def get_visible_use_case(*, actor: Actor, slug: str, for_update: bool = False) -> UseCase:
    """Return the use case by slug, or NotFound when it doesn't exist or the actor may not see it."""
    queryset = use_cases_visible_to(actor).filter(slug=slug)
    use_case = (queryset.select_for_update() if for_update else queryset).first()
    if use_case is None:
        raise NotFound(f"Use case {slug!r} does not exist or is not visible to you.", code="use_case_not_found",
                       extra={"slug": slug})
    return use_case


def require_scope(*, actor: Actor, scope: str) -> None:
    """Refuse a token that lacks the scope; people are governed by roles only."""
    if not actor.has_scope(scope):
        name = scope_name(scope)
        raise PermissionRefused(f"This token lacks the {name} scope.", code="missing_scope", extra={"scope": name})


def require_role(*, actor: Actor, use_case: UseCase, roles: Iterable[str], action: str) -> set[str]:
    """Refuse unless the actor holds one of the roles (superusers always may); return the roles held."""
    wanted = {str(role) for role in roles}
    held = roles_of(actor, use_case)
    if actor.user is not None and actor.user.is_superuser:
        return held | wanted
    if held & wanted:
        return held
    raise PermissionRefused(
        f"You need one of the roles {', '.join(sorted(wanted))} on {use_case.slug!r} to {action}.",
        code="missing_role",
        extra={"required_roles": sorted(wanted), "held_roles": sorted(held), "use_case": use_case.slug},
    )


def require_member(*, actor: Actor, use_case: UseCase) -> set[str]:
    """Refuse anyone who may not read the use case; organisation-wide readers may, without acting."""
    if reads_whole_organisation(actor):
        return roles_of(actor, use_case)
    return require_role(actor=actor, use_case=use_case, roles=[role.value for role in Role], action="read it")
