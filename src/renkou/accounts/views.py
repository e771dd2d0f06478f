"""Pages of accounts: logging in and out (throttled by django-axes), and the audit log for administrators."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from renkou.accounts.forms import AuditFilterForm
from renkou.accounts.models import AuditAction
from renkou.accounts.selectors import AuditFilter, audit_list
from renkou.accounts.services import audit_record
from renkou.core.views import client_ip, page
from renkou.registry.idnumbers import mask_in_text

AUDIT_PAGE_SIZE = 50

# What a write did, from the ``detail["what"]`` the register's services record.
WHAT_LABELS = {
    "create": _("Person or household created"),
    "update": _("Person corrected"),
    "birth_register": _("Birth registered"),
    "death_register": _("Death registered"),
    "move_out_register": _("Move out registered"),
    "move_in_register": _("Move in registered"),
    "marriage_register": _("Marriage registered"),
    "marriage_end": _("Marriage ended"),
}

OBJECT_TYPE_LABELS = {
    "person": _("Person"),
    "household": _("Household"),
    "event": _("Event"),
    "marriage": _("Marriage"),
    "user": _("User"),
}


class LoginView(auth_views.LoginView):
    """Django's login (hashed passwords, CSRF) behind django-axes, which locks out after repeated failures."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(user=form.get_user(), action=AuditAction.LOGIN, channel="web", ip_address=client_ip(self.request))
        return response

    def form_invalid(self, form):
        tried = (form.data.get("username") or "")[:150]
        audit_record(user=None, action=AuditAction.LOGIN_FAILED, object_type="user", detail={"username": mask_in_text(tried)},
                     channel="web", ip_address=client_ip(self.request))
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot log anyone out."""


@page
def audit_log(request):
    """Every access to personal data, newest first; county administrators only (audit_list refuses others)."""
    form = AuditFilterForm(request.GET or None)
    filters = AuditFilter()
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = AuditFilter(username=d["username"].strip(), action=d["action"], object_id=d["object_id"].strip(),
                              date_from=d["date_from"], date_to=d["date_to"])
    entries = audit_list(user=request.user, filters=filters)
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    start = (number - 1) * AUDIT_PAGE_SIZE
    # No total count: the log grows by every view of a person, and counting it all is slow and useless.
    rows = list(entries[start : start + AUDIT_PAGE_SIZE + 1])
    has_next = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    for entry in rows:
        entry.what_label = WHAT_LABELS.get((entry.detail or {}).get("what", ""), "")
        # A failed login has no user, only the name that was tried.
        entry.who = mask_in_text(entry.username or str((entry.detail or {}).get("username", "")))
        entry.purpose = mask_in_text(entry.purpose)
        entry.object_label = OBJECT_TYPE_LABELS.get(entry.object_type, entry.object_type)
        # An event's entry may name the person it concerns (e.g. the mother of a birth) in its detail.
        person = str((entry.detail or {}).get("person", ""))
        entry.person_link = person if person.isdigit() and entry.object_type != "person" else ""
    return render(request, "accounts/audit_log.html", {
        "section": "audit", "form": form, "entries": rows, "page_number": number, "has_next": has_next,
        "has_previous": number > 1, "first_row": start + 1,
    })
