from django.urls import path

from generation import image_views, views

app_name = "generation"
urlpatterns = [
    path("products/<int:product_id>/copy/", views.product_copy, name="product_copy"),
    path("drafts/<int:draft_id>/decide/", views.draft_decide, name="draft_decide"),
    path("settings/copy/", views.copy_settings, name="copy_settings"),
    path("products/<int:product_id>/variants/", image_views.product_images, name="product_images"),
    path(
        "products/<int:product_id>/variants/<int:generated_id>/",
        image_views.generated_image_file,
        name="generated_image_file",
    ),
    path(
        "products/<int:product_id>/variants/<int:generated_id>/decide/",
        image_views.generated_image_decide,
        name="generated_image_decide",
    ),
    path(
        "products/<int:product_id>/variants/jobs/<int:job_id>/cancel/",
        image_views.image_job_cancel,
        name="image_job_cancel",
    ),
    path(
        "products/<int:product_id>/suggestions/<int:suggestion_id>/",
        image_views.suggestion_decide,
        name="suggestion_decide",
    ),
]
