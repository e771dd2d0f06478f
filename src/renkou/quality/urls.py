from django.urls import path

from renkou.quality import views

urlpatterns = [
    path("", views.quality_unit, name="quality_unit"),
    path("checks/<str:key>/", views.quality_records, name="quality_records"),
    path("checks/<str:key>/export/", views.quality_export, name="quality_export"),
]
