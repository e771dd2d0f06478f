"""The JSON API at /api/v1/: one NinjaAPI, session or bearer-token authentication, errors translated once.

Each module adds its router (``<module>/api.py``); routes stay thin: parse, call a service or selector, answer.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from renkou.accounts.services import token_authenticate
from renkou.core.errors import NotFound, PermissionDenied, RuleViolation, violations_of


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
            request.renkou_channel = "api"
        return user


class CsrfFailed(Exception):
    """A session-authenticated unsafe request without a valid CSRF token (403)."""


class SessionWithCsrf(APIKeyCookie):
    """The browser's Django session; unsafe methods need the CSRF token, as for the pages."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # Only a logged-in browser needs the CSRF check: a request with neither session nor token is answered 401
        # (ninja's own check would answer 403 "CSRF check Failed" first).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise CsrfFailed
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            request.renkou_channel = "api"
            return user
        return None


class RenkouAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # The route function's name ("persons_search", "birth_register"): short, and unique across the routers.
        return operation.view_func.__name__


api = RenkouAPI(
    title="renkou API",
    version="1",
    description="The register of a county's population and family-services office. Personal data only within "
    "the caller's organisation unit; ID numbers masked; every read of a person is recorded.",
    auth=[BearerToken(), SessionWithCsrf(csrf=True)],
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error_body(items: list[dict[str, str]]) -> dict:
    return {"detail": items[0]["message"] if items else "", "errors": items}


@api.exception_handler(RuleViolation)
def on_rule_violation(request, exc: RuleViolation):
    return api.create_response(request, _error_body([v.as_dict() for v in violations_of(exc)]), status=422)


@api.exception_handler(NotFound)
def on_not_found(request, exc: NotFound):
    return api.create_response(request, _error_body([{"field": "", "message": _("Not found."), "code": "not_found"}]),
                               status=404)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc: PermissionDenied):
    return api.create_response(
        request, _error_body([{"field": "", "message": _("Your role may not do this."), "code": "forbidden"}]),
        status=403)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return api.create_response(
        request, _error_body([{"field": "", "message": _("Log in or send a bearer token."),
                               "code": "unauthenticated"}]), status=401)


@api.exception_handler(CsrfFailed)
def on_csrf_failed(request, exc):
    return api.create_response(
        request, _error_body([{"field": "", "message": _("The CSRF token is missing or wrong; reload the page."),
                               "code": "csrf"}]), status=403)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # e.g. 400 for a body that is not JSON: the same error shape as every other answer.
    return api.create_response(
        request, _error_body([{"field": "", "message": str(exc), "code": f"http_{exc.status_code}"}]),
        status=exc.status_code)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    items = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload", "filters")]
        items.append({"field": ".".join(loc), "message": err.get("msg", ""), "code": err.get("type", "invalid")})
    return api.create_response(request, _error_body(items), status=422)


def _add_routers() -> None:
    from renkou.accounts.api import router as accounts_router
    from renkou.aggregates.api import router as aggregates_router
    from renkou.dedup.api import router as dedup_router
    from renkou.intake.api import router as intake_router
    from renkou.migrants.api import router as migrants_router
    from renkou.orgunits.api import router as units_router
    from renkou.quality.api import router as quality_router
    from renkou.registry.api import router as registry_router
    from renkou.stats.api import router as stats_router

    api.add_router("/me", accounts_router)
    api.add_router("/units", units_router)
    api.add_router("/", registry_router)
    api.add_router("/imports", intake_router)
    api.add_router("/duplicates", dedup_router)
    api.add_router("/quality", quality_router)
    api.add_router("/stats", stats_router)
    api.add_router("/datasets", aggregates_router)
    api.add_router("/exchange", migrants_router)


_add_routers()
