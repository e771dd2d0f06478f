from django.conf import settings

from renkou.core.selectors import holds_synthetic_data


def site(request):
    return {"SYNTHETIC_DATA": holds_synthetic_data(), "RENKOU_DEBUG": settings.DEBUG}
