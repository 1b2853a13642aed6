"""Template filters of the governance pages."""
from django import template

from governance.pages.labels import CRITERIA, GATE_TITLES, label

register = template.Library()


@register.filter(name="label")
def label_filter(value, kind: str) -> str:
    """`{{ gate.status|label:"gate_status" }}`: the translated name of a stored choice."""
    return label(kind, value)


@register.filter
def gate_title(number) -> str:
    """`{{ gate.number|gate_title }}`: "Gate 2: before production", translated."""
    return str(GATE_TITLES.get(int(number), number))


@register.filter
def criterion_title(criterion: dict) -> str:
    """`{{ criterion|criterion_title }}`: the criterion's name in the reader's language (its reasons stay stored)."""
    return str(CRITERIA.get(str(criterion.get("code")), criterion.get("title", "")))
