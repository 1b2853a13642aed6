"""Reading a Content-Security-Policy header into its directives, for the tests that assert it."""


def directives(header: str) -> dict[str, list[str]]:
    """Return {directive: [sources]} of a policy header."""
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_strict(response) -> dict[str, list[str]]:
    """Assert the platform's strict policy: nothing inline without a nonce, nothing from elsewhere, no framing."""
    header = response["Content-Security-Policy"]
    policy = directives(header)
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for name in ("script-src", "style-src"):
        assert policy[name][0] == "'self'"
        assert all(source == "'self'" or source.startswith(("'nonce-", "'sha256-")) for source in policy[name])
    return policy
