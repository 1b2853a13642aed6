"""Numbers on the monitoring pages as in the reports: p-values as "< 0.001" or three significant digits."""
from django import template

from driftgate.numbers import p_text as _p_text
from driftgate.numbers import significant

register = template.Library()


@register.filter
def p_text(value):
    """Return a p-value for people."""
    return _p_text(value)


@register.filter
def sig3(value):
    """Return a number to three significant digits."""
    return significant(value)
