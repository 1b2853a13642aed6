"""Object-level rules: who may see and change what on a use case. Services call these; views never decide."""
from collections.abc import Iterable

from django.db.models import QuerySet

from driftgate.actors import Actor
from driftgate.errors import NotFound, PermissionRefused
from driftgate.permissions import scope_name
from governance.models import Membership, Role, UseCase


def is_platform_admin(actor: Actor) -> bool:
    """Staff may see every use case; superusers may also act on any."""
    user = actor.user
    return bool(user is not None and user.is_active and user.is_staff)


def roles_of(actor: Actor, use_case: UseCase) -> set[str]:
    """Return the roles the actor's person holds on the use case."""
    if actor.user is None or not actor.user.is_authenticated:
        return set()
    return set(Membership.objects.filter(use_case=use_case, user=actor.user).values_list("role", flat=True))


def use_cases_visible_to(actor: Actor) -> QuerySet[UseCase]:
    """Return the use cases the actor may read: all for staff, otherwise those with a membership."""
    if is_platform_admin(actor):
        return UseCase.objects.all()
    if actor.user is None or not actor.user.is_authenticated:
        return UseCase.objects.none()
    return UseCase.objects.filter(memberships__user=actor.user).distinct()


def get_visible_use_case(*, actor: Actor, slug: str, for_update: bool = False) -> UseCase:
    """Return the use case by slug, or NotFound when it doesn't exist or the actor may not see it."""
    queryset = use_cases_visible_to(actor)
    if for_update:
        # DISTINCT cannot be combined with FOR UPDATE; re-select the row by primary key to lock it.
        pk = queryset.filter(slug=slug).values_list("pk", flat=True).first()
        use_case = UseCase.objects.select_for_update().filter(pk=pk).first() if pk else None
    else:
        use_case = queryset.filter(slug=slug).first()
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
    """Refuse anyone without a role on the use case (staff may read)."""
    if is_platform_admin(actor):
        return roles_of(actor, use_case)
    return require_role(actor=actor, use_case=use_case, roles=[role.value for role in Role], action="read it")
