from django.urls import include, path
from rest_framework.routers import DefaultRouter

from catalog.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("products", views.ProductViewSet, basename="product")
router.register("imports", views.ImportViewSet, basename="import")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("", include(router.urls)),
]
