from django.urls import path

from wangge.web import (
    views,
    views_cases,
    views_ledgers,
    views_notifications,
    views_qr,
    views_registry,
    views_registry_forms,
    views_registry_reports,
    views_services,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("map/", views.territory_map, name="map"),
    # The service catalogue (一次性告知), for every signed-in user.
    path("services/", views_services.services_page, name="services"),
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
    # The registry: grid → buildings → houses → households → people, search, components map.
    path("registry/", views_registry.registry_home, name="registry"),
    path("registry/search/", views_registry.search_page, name="registry-search"),
    path("registry/grids/<str:code>/", views_registry.grid_page, name="registry-grid"),
    path("registry/buildings/<int:pk>/", views_registry.building_page, name="registry-building"),
    path("registry/houses/<int:pk>/", views_registry.house_page, name="registry-house"),
    path(
        "registry/households/<int:pk>/",
        views_registry.household_page,
        name="registry-household",
    ),
    path("registry/people/<int:pk>/", views_registry.person_page, name="registry-person"),
    path(
        "registry/organizations/<int:pk>/",
        views_registry.organization_page,
        name="registry-organization",
    ),
    path("registry/components/", views_registry.components_map, name="registry-components"),
    path(
        "registry/components.geojson",
        views_registry.components_geojson,
        name="registry-components-geojson",
    ),
    # Rented houses: the QR page, pending self-registrations, label sheets, star ratings.
    path("q/<str:token>/", views_qr.house_qr_page, name="qr-house"),
    path("q/<str:token>/locate/", views_qr.house_qr_locate, name="qr-locate"),
    path(
        "m/self-registrations/",
        views_qr.self_registrations_page,
        name="mobile-self-registrations",
    ),
    path("registry/qr-labels/", views_qr.qr_labels_page, name="registry-qr-labels"),
    path(
        "registry/houses/<int:pk>/ratings/",
        views_qr.house_ratings_fragment,
        name="registry-house-ratings",
    ),
]

# Registry reports (data quality, QR scan rate) and the resident lifecycle forms.
urlpatterns += [
    path("registry/quality/", views_registry_reports.quality_page, name="registry-quality"),
    path("registry/qr-stats/", views_registry_reports.qr_stats_page, name="registry-qr-stats"),
    path(
        "registry/houses/<int:pk>/register/",
        views_registry_forms.person_register_page,
        name="registry-person-register",
    ),
    path(
        "registry/residencies/<int:pk>/move-out/",
        views_registry_forms.residency_move_out_page,
        name="registry-residency-move-out",
    ),
    path(
        "registry/residencies/<int:pk>/deregister/",
        views_registry_forms.residency_deregister_page,
        name="registry-residency-deregister",
    ),
    path(
        "registry/residencies/<int:pk>/move/",
        views_registry_forms.residency_move_page,
        name="registry-residency-move",
    ),
    path(
        "registry/residencies/<int:pk>/register/",
        views_registry_forms.residency_register_action,
        name="registry-residency-register",
    ),
    path(
        "registry/people/<int:pk>/tags/",
        views_registry_forms.person_tags_page,
        name="registry-person-tags",
    ),
    path(
        "registry/people/<int:pk>/photo/",
        views_registry_forms.person_photo_page,
        name="registry-person-photo",
    ),
    path(
        "registry/people/<int:pk>/photo/remove/",
        views_registry_forms.person_photo_clear_action,
        name="registry-person-photo-clear",
    ),
    path(
        "registry/people/<int:pk>/photo/image/",
        views_registry_forms.person_photo_file,
        name="registry-person-photo-file",
    ),
]

# Ledgers (台账): templates, import with progress, rejects, export.
urlpatterns += [
    path("registry/ledgers/", views_ledgers.ledgers, name="ledgers"),
    path("registry/ledgers/jobs/<int:pk>/", views_ledgers.ledger_job, name="ledger-job"),
    path("registry/ledgers/jobs/", views_ledgers.ledger_status, name="ledger-status"),
    path(
        "registry/ledgers/jobs/<int:pk>/rejects/",
        views_ledgers.ledger_rejects,
        name="ledger-rejects",
    ),
    path(
        "registry/ledgers/<slug:kind>/template/",
        views_ledgers.ledger_template,
        name="ledger-template",
    ),
    path("registry/ledgers/<slug:kind>/export/", views_ledgers.ledger_export, name="ledger-export"),
]

# The notification inbox: the user's own notifications, marked read one by one or all at once.
urlpatterns += [
    path("notifications/", views_notifications.inbox, name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        views_notifications.mark_read,
        name="notification-read",
    ),
    path(
        "notifications/read-all/",
        views_notifications.mark_all_read,
        name="notifications-read-all",
    ),
]
