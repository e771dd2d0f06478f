from django.contrib import admin
from django.urls import include, path

from renkou.api import api
from renkou.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("renkou.accounts.urls")),
    path("", include("renkou.orgunits.urls")),
    path("", include("renkou.registry.urls")),
    path("intake/", include("renkou.intake.urls")),
    path("duplicates/", include("renkou.dedup.urls")),
    path("quality/", include("renkou.quality.urls")),
    path("stats/", include("renkou.stats.urls")),
    path("datasets/", include("renkou.aggregates.urls")),
    path("exchange/", include("renkou.migrants.urls")),
]
