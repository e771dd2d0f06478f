"""Views of the core: the health check, and the edge where domain errors become HTTP answers.

``page`` wraps every page view: login required, and the register's ``NotFound`` (missing or outside the
user's area) answered as 404, ``PermissionDenied`` (the role may not do this) as 403 — translated once, here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

import renkou
from renkou.core.errors import NotFound, PermissionDenied


@require_GET
def healthz(request):
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        db = {"status": "ok", "vendor": connection.vendor,
              "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        status = 200
    except Exception as exc:  # noqa: BLE001 - health must report, not raise
        db = {"status": "error", "vendor": connection.vendor, "error": exc.__class__.__name__}
        status = 503
    return JsonResponse({"status": "ok" if status == 200 else "degraded", "version": renkou.__version__,
                         "database": db}, status=status)


def domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """NotFound → 404 and PermissionDenied → 403, so that views call selectors and services without ceremony."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise HttpForbidden from exc

    return wrapper


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page of the register: login required, domain errors translated.

    An htmx request whose session has expired gets HX-Redirect to the login page (back to the page it came
    from), instead of a login form swapped into the middle of a page."""
    inner = login_required(domain_errors(view))

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if is_htmx(request) and not request.user.is_authenticated:
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = (current.path + (f"?{current.query}" if current.query else "")) or "/"
            response = HttpResponse(status=200)
            response["HX-Redirect"] = redirect_to_login(back)["Location"]
            return response
        return inner(request, *args, **kwargs)

    return wrapper


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
