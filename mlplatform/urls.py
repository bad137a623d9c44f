"""Django routes. The REST predict hot path is served before Django, in mlplatform.asgi."""

from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from mlplatform import health, metrics_view, openapi  # noqa: F401  (openapi: JWT scheme)
from mlplatform.graphql_view import PlatformGraphQLView
from mlplatform.schema import schema
from models_app.rest.views import MLModelViewSet, TrainingJobViewSet
from predictions.pages import live_page
from predictions.rest.views import PredictionViewSet
from predictions.soap.views import soap_endpoint

admin.site.site_header = "MLPlatform administration"
admin.site.site_title = "MLPlatform"
admin.site.index_title = "Model registry"

api_v1 = DefaultRouter()
api_v1.register("models", MLModelViewSet, basename="mlmodel")
api_v1.register("training-jobs", TrainingJobViewSet, basename="trainingjob")
api_v1.register("predictions", PredictionViewSet, basename="prediction")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/v1/auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/v1/", include(api_v1.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("soap/", soap_endpoint, name="soap"),
    path("graphql/", csrf_exempt(PlatformGraphQLView.as_view(schema=schema)), name="graphql"),
    path("live/", live_page, name="live"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("readyz", health.readyz, name="readyz"),
]
