"""Steps other apps add to `manage.py demo_seed`, so the demo can show monitoring while governance never
imports monitoring (the same door as `governance.facts`: the app registers at start-up)."""
from collections.abc import Callable

from governance.models import UseCase

# A step receives the demo use case, the demo people by username and the site's base URL, and returns lines to print.
DemoStep = Callable[..., list[str]]
_steps: list[DemoStep] = []


def register_demo_step(step: DemoStep) -> None:
    """Add a step to the demo seed (called from an AppConfig.ready; registering twice keeps one)."""
    if step not in _steps:
        _steps.append(step)


def run_demo_steps(*, use_case: UseCase, users: dict, base_url: str) -> list[str]:
    """Run every registered step in registration order and return what they have to say."""
    lines: list[str] = []
    for step in _steps:
        lines += step(use_case=use_case, users=users, base_url=base_url)
    return lines
