"""Thin DRF views over generation services and selectors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from catalog.models import Language, Product
from generation import export as copy_export
from generation import image_services, selectors, services
from generation.api.serializers import (
    AcceptedCopySerializer,
    DraftAcceptSerializer,
    DraftRegenerateSerializer,
    DraftRejectSerializer,
    DraftSerializer,
    GenerationJobCreateSerializer,
    GenerationJobSerializer,
    ImageJobCreateSerializer,
    ImageJobSerializer,
)
from generation.models import CopyField, Draft, GenerationJob, ImageJob


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


def _product_id(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):  # "²".isdigit() is true, int("²") is not
        raise DjangoValidationError({"product": "Give a product id (a whole number)."})
    return int(value)


class ExportContentNegotiation(DefaultContentNegotiation):
    """For the export, `?format=` names the file (csv, jsonl), not DRF's renderer.

    The project keeps DRF's URL_FORMAT_OVERRIDE (`format`) everywhere else; here the file is
    streamed whatever the query or Accept header says, and errors are always JSON.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


EXPORT_FILE = "An attachment: CSV or JSON Lines, as `format` asks."
ACCEPTED_COPY_FILTERS = [
    OpenApiParameter("product", int, description="Only this product (its id)."),
    OpenApiParameter("field", str, enum=CopyField.values),
    OpenApiParameter("language", str, enum=Language.values),
    OpenApiParameter("channel", str, description="generic, amazon, taobao …"),
]


@extend_schema_view(
    list=extend_schema(
        summary="Published copy",
        description="The accepted draft of each product, field, language and channel, ordered by "
        "sku, field, language and channel: the rows of the export, one page at a time.",
        parameters=ACCEPTED_COPY_FILTERS,
    )
)
class AcceptedCopyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = AcceptedCopySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Draft.objects.none()
        params = self.request.query_params
        return copy_export.accepted_copy(
            merchant=self.request.user.merchant,
            product_id=_product_id(params.get("product", "")),
            field=params.get("field", ""),
            language=params.get("language", ""),
            channel=params.get("channel", ""),
        )

    def list(self, request, *args, **kwargs):
        drafts = self.get_queryset()
        page = self.paginate_queryset(drafts)
        rows = copy_export.export_rows(page if page is not None else drafts)
        data = self.get_serializer(list(rows), many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        operation_id="accepted_copy_export",
        summary="Download published copy",
        description="The same rows as the list, all of them, streamed as a file attachment. CSV is "
        "UTF-8 with a byte-order mark (so Excel reads Chinese), one row per draft, newlines kept "
        "inside quoted cells; JSON Lines has one object per line.",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=[*copy_export.EXPORT_FORMATS],
                default="csv",
                description="The file format. Unlike the rest of the API, `format` here does not "
                "choose DRF's renderer: this endpoint always sends the file, and errors as JSON.",
            ),
            *ACCEPTED_COPY_FILTERS,
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description=EXPORT_FILE),
            (200, copy_export.JSONL_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description=EXPORT_FILE
            ),
            (400, "application/json"): OpenApiResponse(
                description="A bad format or filter: `detail` says which."
            ),
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        renderer_classes=[JSONRenderer],
        content_negotiation_class=ExportContentNegotiation,
        pagination_class=None,
    )
    def export(self, request, *args, **kwargs):
        params = request.query_params
        # `/export.jsonl` works too: the router's format suffix names the file as well.
        file_format = params.get("format") or kwargs.get("format") or "csv"
        return copy_export.export_response(
            merchant=request.user.merchant,
            format=file_format,
            product_id=_product_id(params.get("product", "")),
            field=params.get("field", ""),
            language=params.get("language", ""),
            channel=params.get("channel", ""),
        )
