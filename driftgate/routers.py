"""The API's router: paths work with and without a trailing slash (`/api/v1/use-cases` and `/api/v1/use-cases/`)."""
from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """SimpleRouter whose routes accept an optional trailing slash; DRF's own flag only takes a boolean."""

    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        self.trailing_slash = "/?"
