"""Page views, one module per area; each is a thin view over the services and selectors the API uses."""
