from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import ObtainAuthToken

from wangge.cases import api as cases
from wangge.regions import api as regions

app_name = "api"

urlpatterns = [
    path("auth/token/", ObtainAuthToken.as_view(), name="token"),
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
    path("cases/<str:number>/", cases.CaseDetailApi.as_view(), name="case"),
    path("cases/<str:number>/actions/", cases.CaseActionApi.as_view(), name="case-actions"),
    path("cases/<str:number>/photos/", cases.CasePhotoApi.as_view(), name="case-photos"),
    path("territory/import/", regions.TerritoryImportApi.as_view(), name="territory-import"),
]
