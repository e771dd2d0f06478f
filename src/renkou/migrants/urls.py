from django.urls import path

from renkou.migrants import views

urlpatterns = [
    path("", views.overview, name="exchange_overview"),
    path("inbox/", views.inbox, name="exchange_inbox"),
    path("outbox/", views.outbox, name="exchange_outbox"),
    path("requests/", views.requests_due, name="exchange_requests"),
    path("requests/<int:request_id>/", views.request_answer, name="exchange_request_answer"),
    path("unmatched/", views.unmatched, name="exchange_unmatched"),
    path("dead/", views.dead, name="exchange_dead"),
    path("two-way/", views.two_way, name="exchange_two_way"),
    path("persons/<int:person_id>/", views.person_history, name="exchange_person_history"),
]
