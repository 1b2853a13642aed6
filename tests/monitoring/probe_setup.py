"""Arranging a probed use case: people, a model version, endpoints, a probe policy, a run."""
from dataclasses import dataclass

from driftgate.actors import Actor
from governance.models import ModelVersion, UseCase
from monitoring.models import GoldenItem, ProbeRun
from monitoring.services.probe_runs import probe_run_execute
from monitoring.services.probes import (
    builtin_sets_sync,
    golden_set_create,
    model_endpoint_set,
    probe_policy_configure,
    probe_run_request,
)
from tests.factories import MembershipFactory, ModelVersionFactory, UseCaseFactory, UserFactory

ARITHMETIC_ITEMS = [
    {"key": f"add-{a}-{b}", "category": "arithmetic", "prompt": f"What is {a} plus {b}? Answer with the number only.",
     "reference": str(a + b), "grader": "numeric"}
    for a, b in [(15, 7), (23, 19), (101, 99), (7, 8), (48, 52), (66, 34), (12, 30), (9, 9)]
]


@dataclass
class Probed:
    """A use case with a platform owner, a version and its endpoints on the stub."""

    use_case: UseCase
    version: ModelVersion
    owner: Actor
    stub: object

    def run(self, *, model: str, target: str = "model") -> ProbeRun:
        """Point the target's endpoint at a scripted model, request a run and execute it in this process."""
        model_endpoint_set(actor=self.owner, model_version=self.version, target=target, url=self.stub.url,
                           model_name=model)
        run = probe_run_request(actor=self.owner, use_case=self.use_case, model_version=self.version, target=target)
        return probe_run_execute(run_id=run.pk)


def probed_use_case(stub, *, builtin_sets=None, own_items=None, **policy) -> Probed:
    """Arrange a probed use case; the stub learns every golden answer."""
    use_case = UseCaseFactory()
    user = UserFactory()
    MembershipFactory(user=user, use_case=use_case, role="platform_owner")
    MembershipFactory(user=user, use_case=use_case, role="product_owner")
    owner = Actor.for_user(user)
    version = ModelVersionFactory(use_case=use_case, status="candidate")
    builtin_sets_sync()
    sets = list(builtin_sets) if builtin_sets is not None else ["general-capability", "safety", "language"]
    probe_policy_configure(actor=owner, use_case=use_case,
                           values={"builtin_sets": sets, "concurrency": 8, "timeout_seconds": 5.0, **policy})
    if own_items:
        golden_set_create(actor=owner, use_case=use_case, key="own", title="Own items", items=own_items)
    stub.teach(GoldenItem.objects.all())
    return Probed(use_case=use_case, version=version, owner=owner, stub=stub)
