"""HTTP routes for accounts. Secrets are write-only: responses list their names, never their values."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.accounts import service
from app.accounts.models import AccountCreate, AccountPublic, AccountUpdate, Platform
from app.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/accounts", tags=["账号"])


@router.post("", response_model=AccountPublic, status_code=status.HTTP_201_CREATED, summary="登记账号")
def create_account(data: AccountCreate, session: SessionDep, user: CurrentUser) -> AccountPublic:
    """登记一个政务新媒体账号并保存平台密钥（加密存储，只写不读）。"""
    return service.public(service.create(session=session, actor=user, data=data))


@router.get("", response_model=list[AccountPublic], summary="账号列表")
def list_accounts(
    session: SessionDep, user: CurrentUser, platform: Platform | None = None, unit_code: str | None = None
) -> list[AccountPublic]:
    accounts = service.list_accounts(
        session=session, principal=user, platform=platform.value if platform else None, unit_code=unit_code
    )
    return [service.public(a) for a in accounts]


@router.get("/{account_id}", response_model=AccountPublic, summary="账号详情")
def get_account(account_id: int, session: SessionDep, user: CurrentUser) -> AccountPublic:
    return service.public(service.get(session=session, account_id=account_id, principal=user))


@router.patch("/{account_id}", response_model=AccountPublic, summary="修改账号")
def update_account(
    account_id: int, data: AccountUpdate, session: SessionDep, user: CurrentUser
) -> AccountPublic:
    """修改账号名称、主办单位、启停状态或密钥（给出的密钥键被替换，其余保留）。"""
    return service.public(service.update(session=session, actor=user, account_id=account_id, data=data))
