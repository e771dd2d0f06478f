from django.urls import path

from renkou.registry import views

urlpatterns = [
    path("", views.home, name="home"),
    path("charts/population/", views.home_chart, name="home_chart"),
    path("persons/", views.person_search, name="person_search"),
    path("persons/results/", views.person_search_results, name="person_search_results"),
    path("persons/move-in/", views.move_in_newcomer, name="move_in_newcomer"),
    path("persons/<int:person_id>/", views.person_detail, name="person_detail"),
    path("persons/<int:person_id>/reveal/", views.person_reveal, name="person_reveal"),
    path("persons/<int:person_id>/edit/", views.person_edit, name="person_edit"),
    path("persons/<int:person_id>/birth/", views.birth_register, name="birth_register"),
    path("persons/<int:person_id>/death/", views.death_register, name="death_register"),
    path("persons/<int:person_id>/move-out/", views.move_out_register, name="move_out_register"),
    path("persons/<int:person_id>/move-in/", views.move_in_return, name="move_in_return"),
    path("persons/<int:person_id>/marriage/", views.marriage_register, name="marriage_register"),
    path("marriages/<int:marriage_id>/end/", views.marriage_end, name="marriage_end"),
    path("events/", views.event_list, name="event_list"),
    path("exports/<str:kind>/", views.export_list, name="export_list"),
    path("households/", views.household_list, name="household_list"),
    path("households/<int:household_id>/", views.household_detail, name="household_detail"),
]
