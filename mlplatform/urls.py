"""Django routes. The REST predict hot path is served before Django, in mlplatform.asgi."""

from django.contrib import admin
from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from mlplatform import health

admin.site.site_header = "MLPlatform administration"
admin.site.site_title = "MLPlatform"
admin.site.index_title = "Model registry"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/v1/auth/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
