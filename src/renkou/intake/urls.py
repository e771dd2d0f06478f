from django.urls import path

from renkou.intake import views

urlpatterns = [
    path("", views.import_home, name="import_home"),
    path("template/<str:kind>/", views.import_template, name="import_template"),
    path("<int:run_id>/", views.import_detail, name="import_detail"),
    path("<int:run_id>/status/", views.import_status, name="import_status"),
    path("<int:run_id>/report/", views.import_report, name="import_report"),
]
