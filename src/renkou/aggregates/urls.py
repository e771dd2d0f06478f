from django.urls import path

from renkou.aggregates import views

urlpatterns = [
    path("", views.entry, name="datasets_entry"),
    path("reporting/", views.reporting, name="datasets_reporting"),
    path("validation/", views.violations, name="datasets_validation"),
    path("outliers/", views.outlier_page, name="datasets_outliers"),
    path("exchange/", views.exchange, name="datasets_exchange"),
]
