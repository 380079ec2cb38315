from django.urls import include, path
from rest_framework.routers import DefaultRouter

from generation.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("generation-jobs", views.GenerationJobViewSet, basename="generation-job")
router.register("drafts", views.DraftViewSet, basename="draft")
router.register("image-jobs", views.ImageJobViewSet, basename="image-job")
router.register("accepted-copy", views.AcceptedCopyViewSet, basename="accepted-copy")

urlpatterns = [path("", include(router.urls))]
