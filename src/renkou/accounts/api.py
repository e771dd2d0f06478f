"""The caller's own account over the JSON API (mounted at /api/v1/me)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from renkou.accounts.models import Role
from renkou.registry.schemas import CodeOut, UnitRefOut, answers, choice_out

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    full_name: str
    role: CodeOut
    unit: UnitRefOut | None
    personal_data: bool = Field(description="whether the role sees persons (aggregate viewers do not)")
    can_write: bool = Field(description="whether the role may write to the register")

    @staticmethod
    def resolve_role(obj):
        return choice_out(Role, obj.role)

    @staticmethod
    def resolve_personal_data(obj):
        return obj.sees_personal_data

    @staticmethod
    def resolve_can_write(obj):
        return obj.writes_register


@router.get("", response=answers(200, MeOut, 401), summary="Who is calling: user, role and unit")
def me(request: HttpRequest):
    return request.auth
