from __future__ import annotations

from rest_framework import serializers

from catalog.models import ImportJob, Language, Product, ProductAttribute


class AttributeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductAttribute
        fields = ["key", "value"]
        extra_kwargs = {"key": {"validators": []}}


class ProductSerializer(serializers.ModelSerializer):
    """Reads a product; validates input shape. Writes go through catalog.services."""

    attributes = AttributeSerializer(many=True, required=False)
    language = serializers.ChoiceField(choices=Language.choices, required=False)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "language", "attributes", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # sku uniqueness is per merchant; the service checks it with the merchant in hand.
        validators: list = []

    def validate_attributes(self, value: list[dict[str, str]]) -> list[tuple[str, str]]:
        keys = [item["key"].strip().lower() for item in value]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise serializers.ValidationError(f"Attribute keys must be unique: {', '.join(duplicates)}.")
        return [(item["key"], item["value"]) for item in value]


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv or .jsonl catalog file in UTF-8.")


class ImportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    errors = ImportErrorSerializer(many=True, read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "progress", "errors", "error_message", "original_name", "file_format",
            "created_count", "updated_count", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: ImportJob) -> dict[str, int]:
        return {"done": job.done, "total": job.total}
