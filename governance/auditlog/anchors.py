"""Chain heads recorded elsewhere (a report names the head it was built from) that verification checks.

Governance never imports reports: reports registers a provider at start-up (its AppConfig.ready), as monitoring
registers its facts provider (`governance/facts.py`). A provider yields (label, chain head) pairs.
"""
from collections.abc import Callable, Iterable

AnchorProvider = Callable[[], Iterable[tuple[str, str]]]

_providers: dict[str, AnchorProvider] = {}


def register_chain_anchors(name: str, provider: AnchorProvider) -> None:
    """Install a provider of recorded chain heads under a name (registering the same name again replaces it)."""
    _providers[name] = provider


def recorded_anchors() -> Iterable[tuple[str, str]]:
    """Yield every (label, chain head) the registered providers know of."""
    for provider in _providers.values():
        yield from provider()
