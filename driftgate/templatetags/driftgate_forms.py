"""Form rendering for the pages: each field with its label, help and errors tied to it for screen readers."""
from django import template
from django.forms import BoundField

register = template.Library()


@register.inclusion_tag("_field.html")
def field_row(field: BoundField, **attrs):
    """Render one field; its errors and help are named in `aria-describedby`, `aria-invalid` marks an error."""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}-help")
    if field.errors:
        described.append(f"{field.auto_id}-errors")
    widget_attrs = {key.replace("_", "-"): value for key, value in attrs.items()}
    if described:
        widget_attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        widget_attrs["aria-invalid"] = "true"
    # A group of checkboxes or radios needs a fieldset and legend; one label cannot name several inputs.
    is_group = field.field.widget.__class__.__name__ in ("CheckboxSelectMultiple", "RadioSelect")
    return {"field": field, "widget": field.as_widget(attrs=widget_attrs), "is_group": is_group}
