"""Every response says how long Django spent on it, in a Server-Timing header."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from shop_copilot.middleware import ServerTimingMiddleware

APP_TIMING = re.compile(r"(?:^|,\s*)app;dur=(\d+(?:\.\d)?)(?:$|,)")

pytestmark = pytest.mark.django_db


def app_duration(response) -> float:
    header = response.headers.get("Server-Timing", "")
    match = APP_TIMING.search(header)
    assert match, f"no app;dur=<ms> in Server-Timing: {header!r}"
    duration = float(match.group(1))
    assert duration >= 0
    return duration


def test_a_merchant_page_reports_its_time(merchant_client):
    response = merchant_client.get(reverse("catalog:product_list"))
    assert response.status_code == 200
    app_duration(response)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login/", 200), ("/", 302), ("/healthz/", 200), ("/no-such-page/", 404)],
)
def test_pages_redirects_and_errors_report_their_time(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    app_duration(response)


def test_htmx_partials_report_their_time(merchant_client):
    response = merchant_client.get(reverse("catalog:product_list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    app_duration(response)


def test_a_timing_set_further_down_is_kept():
    def view(request):
        response = HttpResponse("ok")
        response.headers["Server-Timing"] = "db;dur=1.5"
        return response

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    assert response.headers["Server-Timing"].startswith("db;dur=1.5, app;dur=")
    app_duration(response)
