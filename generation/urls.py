from django.urls import path

from generation import image_views, job_views, review_views, views

app_name = "generation"
urlpatterns = [
    path("products/<int:product_id>/copy/", views.product_copy, name="product_copy"),
    path("drafts/<int:draft_id>/decide/", views.draft_decide, name="draft_decide"),
    path("drafts/<int:draft_id>/save/", views.draft_save, name="draft_save"),
    path("drafts/<int:draft_id>/alternative/", views.draft_alternative, name="draft_alternative"),
    path("drafts/<int:draft_id>/regenerate/", views.draft_regenerate, name="draft_regenerate"),
    path("drafts/<int:draft_id>/revisions/", views.draft_revisions, name="draft_revisions"),
    path("drafts/<int:draft_id>/restore/", views.draft_restore, name="draft_restore"),
    path("review/", review_views.review_queue, name="review_queue"),
    path("review/accept-clean/", review_views.review_accept_clean, name="review_accept_clean"),
    path("copy/generate/", job_views.bulk_generate, name="bulk_generate"),
    path("copy/jobs/<int:job_id>/", job_views.generation_job_detail, name="generation_job_detail"),
    path("copy/jobs/<int:job_id>/cancel/", job_views.generation_job_cancel, name="generation_job_cancel"),
    path("copy/export/", job_views.copy_export, name="copy_export"),
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
