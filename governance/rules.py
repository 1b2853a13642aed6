"""Field rules in one home: limits and choices come from the model fields, checked once, by the services.

The API's serializers only parse JSON shapes and the pages' forms only parse posted text; neither repeats a
limit. A service collects every broken rule into `{"fields": {name: [message]}}`, which the API returns with
its stable code and the pages show beside each field.
"""
from typing import Any

from django.db import models

from driftgate.errors import ValidationFailed

# Text columns have no length in the database; this one limit keeps descriptions and notes reasonable.
LONG_TEXT_LIMIT = 10_000


def field_limit(model: type[models.Model], field: str) -> int:
    """Return the most characters a text field accepts (its max_length, or the long-text limit)."""
    # get_field may also return a relation, which has no max_length: such a field is not text.
    return getattr(model._meta.get_field(field), "max_length", None) or LONG_TEXT_LIMIT


def check_text(errors: dict, model: type[models.Model], field: str, value: Any, *, required: bool = True,
               name: str | None = None) -> None:
    """Record an error under `name` (default: the field) when the value is not text, blank or too long."""
    key = name or field
    limit = field_limit(model, field)
    if not isinstance(value, str):
        errors[key] = ["Must be a string."]
    elif required and not value.strip():
        errors[key] = ["This field may not be blank."]
    elif len(value) > limit:
        errors[key] = [f"Ensure this field has no more than {limit} characters."]


def check_choice(errors: dict, model: type[models.Model], field: str, value: Any) -> None:
    """Record an error when the value is not one of the field's choices."""
    valid = [str(choice) for choice, _label in getattr(model._meta.get_field(field), "choices", None) or []]
    if value not in valid:
        errors[field] = [f"{value!r} is not a valid choice: {', '.join(valid)}."]


def fail_fields(errors: dict[str, list[str]]) -> None:
    """Raise the collected field errors as one `validation_error`."""
    if errors:
        raise ValidationFailed("The request has invalid fields.", extra={"fields": errors})
