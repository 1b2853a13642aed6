"""The standard claims the test provider hands out: e-mail and preferred username from its own users."""


def userinfo(claims: dict, user) -> dict:
    """Fill the standard claims of the provider's user (OIDC_USERINFO)."""
    claims["email"] = user.email
    claims["email_verified"] = True
    claims["preferred_username"] = user.username
    claims["name"] = user.get_full_name() or user.username
    return claims
