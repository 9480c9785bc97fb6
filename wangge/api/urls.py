from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from wangge.cases import api as cases
from wangge.cases import duplicates_api
from wangge.cases.transfer_api import CaseTransferApi
from wangge.core.auth import ObtainTokenApi
from wangge.regions import api as regions
from wangge.registry import api as registry
from wangge.registry import api_houses_qr as houses_qr
from wangge.registry import api_ledgers as ledgers

app_name = "api"

urlpatterns = [
    path("auth/token/", ObtainTokenApi.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("regions/", regions.RegionListApi.as_view(), name="regions"),
    path("regions/geojson/", regions.RegionGeoJsonApi.as_view(), name="regions-geojson"),
    path("regions/<str:code>/", regions.RegionDetailApi.as_view(), name="region"),
    path("grid-layers/", regions.GridLayerListApi.as_view(), name="grid-layers"),
    path("grids/", regions.GridListApi.as_view(), name="grids"),
    path("grids/<slug:layer>/<str:code>/", regions.GridDetailApi.as_view(), name="grid"),
    path("locate/", regions.LocateApi.as_view(), name="locate"),
    path("search/", regions.SearchApi.as_view(), name="search"),
    path("categories/", cases.CategoryListApi.as_view(), name="categories"),
    path("cases/", cases.CaseListCreateApi.as_view(), name="cases"),
    path("cases/report-check/", duplicates_api.ReportCheckApi.as_view(), name="case-report-check"),
    path("cases/<str:number>/", cases.CaseDetailApi.as_view(), name="case"),
    path("cases/<str:number>/actions/", cases.CaseActionApi.as_view(), name="case-actions"),
    path("cases/<str:number>/transfer/", CaseTransferApi.as_view(), name="case-transfer"),
    path(
        "cases/<str:number>/support/", duplicates_api.CaseSupportApi.as_view(), name="case-support"
    ),
    path(
        "cases/<str:number>/dispatch-options/",
        cases.DispatchOptionsApi.as_view(),
        name="case-dispatch-options",
    ),
    path("cases/<str:number>/photos/", cases.CasePhotoApi.as_view(), name="case-photos"),
    path(
        "cases/<str:number>/photos/<int:photo_id>/",
        cases.CasePhotoFileApi.as_view(),
        name="case-photo-file",
    ),
    path("territory/import/", regions.TerritoryImportApi.as_view(), name="territory-import"),
]

# The registry (人、地、事、物、组织) --------------------------------------------------------------
urlpatterns += [
    path("buildings/", registry.BuildingListApi.as_view(), name="buildings"),
    path("buildings/<int:pk>/", registry.BuildingDetailApi.as_view(), name="building"),
    path("houses/", registry.HouseListApi.as_view(), name="houses"),
    path("houses/<int:pk>/", registry.HouseDetailApi.as_view(), name="house"),
    path("households/", registry.HouseholdListApi.as_view(), name="households"),
    path("households/<int:pk>/", registry.HouseholdDetailApi.as_view(), name="household"),
    path("people/", registry.PersonListApi.as_view(), name="people"),
    path("people/search/", registry.PersonSearchApi.as_view(), name="people-search"),
    path("people/<int:pk>/", registry.PersonDetailApi.as_view(), name="person"),
    path("people/<int:pk>/unmask/", registry.PersonUnmaskApi.as_view(), name="person-unmask"),
    path("people/<int:pk>/residencies/", registry.PersonMoveInApi.as_view(), name="person-move-in"),
    path(
        "people/<int:pk>/residency-type/",
        registry.PersonResidencyTypeApi.as_view(),
        name="person-residency-type",
    ),
    path("people/<int:pk>/merge/", registry.PersonMergeApi.as_view(), name="person-merge"),
    path("residencies/<int:pk>/", registry.ResidencyDetailApi.as_view(), name="residency"),
    path(
        "residencies/<int:pk>/register/",
        registry.ResidencyRegisterApi.as_view(),
        name="residency-register",
    ),
    path(
        "residencies/<int:pk>/move-out/",
        registry.ResidencyMoveOutApi.as_view(),
        name="residency-move-out",
    ),
    path(
        "residencies/<int:pk>/deregister/",
        registry.ResidencyDeregisterApi.as_view(),
        name="residency-deregister",
    ),
    path(
        "residencies/<int:pk>/permit/",
        registry.ResidencyPermitApi.as_view(),
        name="residency-permit",
    ),
    path(
        "residencies/<int:pk>/permit/renew/",
        registry.ResidencyPermitRenewApi.as_view(),
        name="residency-permit-renew",
    ),
    path("organizations/", registry.OrganizationListApi.as_view(), name="organizations"),
    path("organizations/<int:pk>/", registry.OrganizationDetailApi.as_view(), name="organization"),
    path("components/", registry.ComponentListApi.as_view(), name="components"),
    path("components/<int:pk>/", registry.ComponentDetailApi.as_view(), name="component"),
    path("person-tags/", registry.TagListApi.as_view(), name="person-tags"),
    path("care-classes/", registry.CareClassListApi.as_view(), name="care-classes"),
    path("registry/data-quality/", registry.DataQualityApi.as_view(), name="data-quality"),
    path(
        "registry/data-quality/<slug:flag>/",
        registry.DataQualityFlagApi.as_view(),
        name="data-quality-flagged",
    ),
]

# Rented houses: QR codes, scans, tenant self-registrations, star ratings (篇9) -----------------------
urlpatterns += [
    path("houses/qr-labels/", houses_qr.LabelSheetApi.as_view(), name="house-qr-labels"),
    path("houses/<int:pk>/qr/", houses_qr.HouseQrApi.as_view(), name="house-qr"),
    path(
        "houses/<int:pk>/qr/rotate/", houses_qr.HouseQrRotateApi.as_view(), name="house-qr-rotate"
    ),
    path("houses/<int:pk>/scans/", houses_qr.HouseScanListApi.as_view(), name="house-scans"),
    path("houses/<int:pk>/ratings/", houses_qr.HouseRatingListApi.as_view(), name="house-ratings"),
    path(
        "houses/<int:pk>/ratings/suggestion/",
        houses_qr.HouseRatingSuggestionApi.as_view(),
        name="house-rating-suggestion",
    ),
    path("rating-criteria/", houses_qr.RatingCriteriaApi.as_view(), name="rating-criteria"),
    path("registry/scan-rate/", houses_qr.ScanRateApi.as_view(), name="scan-rate"),
    path(
        "self-registrations/",
        houses_qr.SelfRegistrationListApi.as_view(),
        name="self-registrations",
    ),
    path(
        "self-registrations/<int:pk>/",
        houses_qr.SelfRegistrationDetailApi.as_view(),
        name="self-registration",
    ),
    path(
        "self-registrations/<int:pk>/approve/",
        houses_qr.SelfRegistrationApproveApi.as_view(),
        name="self-registration-approve",
    ),
    path(
        "self-registrations/<int:pk>/reject/",
        houses_qr.SelfRegistrationRejectApi.as_view(),
        name="self-registration-reject",
    ),
]

# Ledgers (台账) of the registry: templates, imports, exports ----------------------------------------

urlpatterns += [
    path(
        "ledgers/<slug:kind>/template/", ledgers.LedgerTemplateApi.as_view(), name="ledger-template"
    ),
    path(
        "ledgers/<slug:kind>/imports/", ledgers.LedgerImportListApi.as_view(), name="ledger-imports"
    ),
    path("ledgers/<slug:kind>/export/", ledgers.LedgerExportApi.as_view(), name="ledger-export"),
    path("ledger-imports/<int:pk>/", ledgers.LedgerImportDetailApi.as_view(), name="ledger-import"),
    path(
        "ledger-imports/<int:pk>/rejects/",
        ledgers.LedgerImportRejectsApi.as_view(),
        name="ledger-import-rejects",
    ),
]
