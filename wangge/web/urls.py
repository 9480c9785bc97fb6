from django.urls import path

from wangge.web import views, views_cases

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("map/", views.territory_map, name="map"),
    # The command console and its case pages.
    path("console/", views_cases.console, name="console"),
    path("console/queue/<slug:key>/", views_cases.console_queue, name="console-queue"),
    path("console/map/", views_cases.console_map, name="console-map"),
    path("console/map.json", views_cases.console_map_data, name="console-map-data"),
    path("console/cases/<str:number>/", views_cases.case_page, name="console-case"),
    path(
        "console/cases/<str:number>/photos/<int:photo_id>/",
        views_cases.case_photo,
        name="case-photo",
    ),
    # Phone pages for grid workers.
    path("m/", views_cases.mobile_tasks, name="mobile-tasks"),
    path("m/report/", views_cases.mobile_report, name="mobile-report"),
    path("m/cases/<str:number>/", views_cases.mobile_case, name="mobile-case"),
]
