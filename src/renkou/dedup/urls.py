from django.urls import path

from renkou.dedup import views

urlpatterns = [
    path("", views.queue, name="dedup_queue"),
    path("scan/", views.scan, name="dedup_scan"),
    path("scan/<int:scan_id>/", views.scan_status, name="dedup_scan_status"),
    path("<int:pair_id>/", views.pair_detail, name="dedup_pair"),
    path("<int:pair_id>/merge/", views.pair_merge, name="dedup_pair_merge"),
    path("<int:pair_id>/distinct/", views.pair_distinct, name="dedup_pair_distinct"),
]
