from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_copilot.settings")

app = Celery("shop_copilot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
