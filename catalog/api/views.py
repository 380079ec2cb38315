"""Thin DRF views: validate the shape of input, call a service, serialise a selector's rows."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.api.serializers import (
    ImportCreateSerializer,
    ImportJobSerializer,
    ProductSerializer,
)
from catalog.models import ImportJob, Product


class TokenLoginThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenView(APIView):
    """Trade a username and password for the user's API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenLoginThrottle]

    @extend_schema(
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request):
        username = request.data.get("username")
        password = request.data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username:
            return Response(
                {"detail": "Send a username and a password.",
                 "errors": {"username": ["This field is required."]} if not username else {}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        user = authenticate(request._request, username=username, password=password)
        if user is None or not user.merchant_id:
            return Response(
                {"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="matches sku, name or an attribute value"),
            OpenApiParameter("category", str, description="exact category"),
        ]
    )
)
class ProductViewSet(viewsets.ModelViewSet):
    serializer_class = ProductSerializer
    lookup_url_kwarg = "product_id"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no merchant
            return Product.objects.none()
        merchant = self.request.user.merchant
        if self.action == "list":
            return selectors.product_list(
                merchant=merchant,
                search=self.request.query_params.get("search", ""),
                category=self.request.query_params.get("category", ""),
            ).prefetch_related("attributes")
        return Product.objects.filter(merchant=merchant).prefetch_related("attributes")

    def perform_create(self, serializer):
        serializer.instance = services.product_create(
            merchant=self.request.user.merchant, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.product_update(
            product=serializer.instance, **serializer.validated_data
        )
        # Drop the prefetch cache so the response shows the new attributes.
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance: Product) -> None:
        services.product_delete(product=instance)


class ImportViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin,
                    viewsets.GenericViewSet):
    serializer_class = ImportJobSerializer
    lookup_url_kwarg = "import_id"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        return selectors.import_job_list(merchant=self.request.user.merchant)

    @extend_schema(request=None, responses={200: ImportJobSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        """Stop a queued or running import; products already written are kept."""
        job = self.get_object()
        try:
            job = services.import_job_cancel(job=job)
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(ImportJobSerializer(job).data)

    @extend_schema(request=ImportCreateSerializer, responses={202: ImportJobSerializer})
    def create(self, request, *args, **kwargs):
        upload = ImportCreateSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        job: ImportJob = services.import_job_create(
            merchant=request.user.merchant, user=request.user, upload=upload.validated_data["file"]
        )
        return Response(
            ImportJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/imports/{job.pk}/"},
        )
