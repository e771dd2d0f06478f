from django import template

register = template.Library()


@register.filter
def count_of(counts: dict, key: str) -> int:
    return counts.get(key, 0)
