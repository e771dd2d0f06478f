"""System checks run by ``renkou check`` and before ``renkou serve``."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET:
        return [Error(
            "RENKOU_SECRET_KEY is not set: refusing to run in production mode with the default secret.",
            hint="Set RENKOU_SECRET_KEY to a long random value (python -c 'import secrets;print(secrets.token_urlsafe(50))').",
            id="renkou.E001",
        )]
    return []
