"""Thin DRF views over generation services and selectors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.models import Product
from generation import image_services, selectors, services
from generation.api.serializers import (
    DraftAcceptSerializer,
    DraftRegenerateSerializer,
    DraftRejectSerializer,
    DraftSerializer,
    GenerationJobCreateSerializer,
    GenerationJobSerializer,
    ImageJobCreateSerializer,
    ImageJobSerializer,
)
from generation.models import Draft, GenerationJob, ImageJob


def _accepted_job(job: GenerationJob) -> Response:
    return Response(
        GenerationJobSerializer(job).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/generation-jobs/{job.pk}/"},
    )


class GenerationJobViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = GenerationJobSerializer
    lookup_url_kwarg = "job_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return GenerationJob.objects.none()
        return selectors.generation_job_list(merchant=self.request.user.merchant).prefetch_related("products")

    @extend_schema(request=GenerationJobCreateSerializer, responses={202: GenerationJobSerializer})
    def create(self, request, *args, **kwargs):
        """Queue drafts for products × fields; poll the job for progress."""
        params = GenerationJobCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job = services.generation_job_create(
            merchant=request.user.merchant, user=request.user, **params.validated_data
        )
        return _accepted_job(job)

    @extend_schema(request=None, responses={200: GenerationJobSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        """Stop a queued or running job between batches; drafts already written stay."""
        try:
            job = services.generation_job_cancel(job=self.get_object())
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(GenerationJobSerializer(job).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("product", int),
            OpenApiParameter("field", str),
            OpenApiParameter("status", str, description="proposed, accepted, rejected, superseded"),
            OpenApiParameter("language", str),
            OpenApiParameter("channel", str),
        ]
    )
)
class DraftViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = DraftSerializer
    lookup_url_kwarg = "draft_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Draft.objects.none()
        params = self.request.query_params
        product = params.get("product", "")
        if product and not product.isdigit():
            raise DjangoValidationError({"product": "Give a product id (a whole number)."})
        return selectors.draft_list(
            merchant=self.request.user.merchant,
            product_id=int(product) if product else None,
            field=params.get("field", ""),
            status=params.get("status", ""),
            language=params.get("language", ""),
            channel=params.get("channel", ""),
        )

    def _conflict(self, exc: services.StaleVersion) -> Response:
        return Response(
            {
                "detail": f"The draft changed since you read it (it is at version {exc.draft.version}); "
                "nothing was saved. Reload it and decide again.",
                "draft": DraftSerializer(exc.draft).data,
            },
            status=status.HTTP_409_CONFLICT,
        )

    @extend_schema(request=DraftAcceptSerializer, responses={200: DraftSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def accept(self, request, *args, **kwargs):
        """Publish the draft as written, or with your edit in `text`."""
        params = DraftAcceptSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            draft = services.draft_accept(draft=self.get_object(), user=request.user, **params.validated_data)
        except services.StaleVersion as exc:
            return self._conflict(exc)
        return Response(DraftSerializer(draft).data)

    @extend_schema(request=DraftRejectSerializer, responses={200: DraftSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        params = DraftRejectSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            draft = services.draft_reject(draft=self.get_object(), user=request.user, **params.validated_data)
        except services.StaleVersion as exc:
            return self._conflict(exc)
        return Response(DraftSerializer(draft).data)

    @extend_schema(request=DraftRegenerateSerializer, responses={202: GenerationJobSerializer})
    @action(detail=True, methods=["post"])
    def regenerate(self, request, *args, **kwargs):
        """Write this field again with other options; returns the new job."""
        params = DraftRegenerateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job = services.draft_regenerate(draft=self.get_object(), user=request.user, **params.validated_data)
        return _accepted_job(job)


class ImageJobViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = ImageJobSerializer
    lookup_url_kwarg = "job_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImageJob.objects.none()
        return ImageJob.objects.filter(merchant=self.request.user.merchant).prefetch_related("images")

    @extend_schema(request=ImageJobCreateSerializer, responses={202: ImageJobSerializer, 409: None})
    def create(self, request, *args, **kwargs):
        """Draw `count` variants of a product; 409 while no image model is trained yet."""
        params = ImageJobCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        try:
            product = Product.objects.get(merchant=request.user.merchant, pk=data.pop("product_id"))
        except Product.DoesNotExist:
            raise DjangoValidationError({"product_id": "No such product in your catalog."}) from None
        try:
            job = image_services.image_job_create(
                merchant=request.user.merchant, product=product, user=request.user, **data
            )
        except image_services.ImageModelUnavailable as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(
            ImageJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/image-jobs/{job.pk}/"},
        )

    @extend_schema(request=None, responses={200: ImageJobSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        try:
            job = image_services.image_job_cancel(job=self.get_object())
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(ImageJobSerializer(job).data)
