"""HTTP routes for units."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import CurrentUser, SessionDep
from app.units import service
from app.units.models import UnitCreate, UnitPublic, UnitUpdate

router = APIRouter(prefix="/units", tags=["单位"])


@router.post("", response_model=UnitPublic, status_code=status.HTTP_201_CREATED, summary="新建单位")
def create_unit(data: UnitCreate, session: SessionDep, user: CurrentUser) -> object:
    """新建一个单位（仅管理员）。`parent_code` 为上级单位，`supervisor_code` 为督办升级所到的主管单位，
    `keywords` 为分办关键词。"""
    return service.create(session=session, actor=user, data=data)


@router.get("", response_model=list[UnitPublic], summary="单位列表")
def list_units(session: SessionDep, user: CurrentUser) -> object:
    """列出当前用户可见的单位（本单位及下级单位；管理员、督办、审计可见全部）。"""
    return service.list_units(session=session, principal=user)


@router.get("/{code}", response_model=UnitPublic, summary="单位详情")
def get_unit(code: str, session: SessionDep, user: CurrentUser) -> object:
    return service.require(session=session, code=code, principal=user)


@router.patch("/{code}", response_model=UnitPublic, summary="修改单位")
def update_unit(code: str, data: UnitUpdate, session: SessionDep, user: CurrentUser) -> object:
    """修改单位名称、关键词、上级/主管单位或答复时限（仅管理员）。"""
    return service.update(session=session, actor=user, code=code, data=data)
