from django.urls import path

from renkou.orgunits import views

urlpatterns = [
    path("units/", views.unit_tree, name="unit_tree"),
]
