"""Input no part of renkou can hold: a NUL character in the query string (PostgreSQL refuses it in any text value,
so a search or a filter holding one would fail as a server error). Refused at the door: 422 in the API's error
format under /api/, 400 elsewhere."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                message = "A query parameter holds a NUL character."
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": message, "errors": [
                        {"field": key.replace("\x00", ""), "message": message, "code": "invalid"}]}, status=422)
                return HttpResponseBadRequest(message)
        return self.get_response(request)
