from django.urls import path

from wangge.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("map/", views.territory_map, name="map"),
]
