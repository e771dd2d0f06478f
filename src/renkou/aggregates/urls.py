from django.urls import path

from renkou.aggregates import views

urlpatterns = [
    path("", views.entry, name="datasets_entry"),
    path("reporting/", views.reporting, name="datasets_reporting"),
    path("validation/", views.violations, name="datasets_validation"),
    path("outliers/", views.outlier_page, name="datasets_outliers"),
    path("exchange/", views.exchange, name="datasets_exchange"),
    path("mappings/", views.mappings, name="datasets_mappings"),
    path("mappings/new/", views.mapping_new, name="datasets_mapping_new"),
    path("mappings/<int:mapping_id>/", views.mapping_edit, name="datasets_mapping_edit"),
    path("mappings/<int:mapping_id>/delete/", views.mapping_delete, name="datasets_mapping_delete"),
]
