from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Copy generation"

    def ready(self) -> None:
        from generation import signals  # noqa: F401 - connects the receivers
