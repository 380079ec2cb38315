"""Middleware of our own."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=<ms>` to every response, for browser devtools and benchmarks.

    The time runs from this middleware down (the middleware below it, the view, the template) and
    leaves out what happens before Django sees the request, such as waiting for a gunicorn worker.
    A streamed or file response's body is sent after the header, so its sending is not counted.
    """

    metric = "app"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        entry = f"{self.metric};dur={(time.perf_counter() - start) * 1000:.1f}"
        # Keep what a view or another middleware already reported.
        earlier = response.headers.get("Server-Timing")
        response.headers["Server-Timing"] = f"{earlier}, {entry}" if earlier else entry
        return response
