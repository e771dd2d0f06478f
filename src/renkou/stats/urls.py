from django.urls import path

from renkou.stats import views

urlpatterns = [
    path("", views.dashboard, name="stats_dashboard"),
    path("report/<str:form>.<str:fmt>", views.report_download, name="stats_report_download"),
    path("indicators/", views.indicator_list, name="stats_indicators"),
    path("indicators/new/", views.indicator_new, name="stats_indicator_new"),
    path("indicators/<str:code>/", views.indicator_edit, name="stats_indicator_edit"),
    path("publish/", views.publish, name="stats_publish"),
    path("publish/<str:period>/changes/", views.changes, name="stats_changes"),
]
