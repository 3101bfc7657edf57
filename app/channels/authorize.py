"""Re-authorising an account whose platform token a person must renew (Weibo access tokens, Douyin
refresh tokens): the platform's authorisation page for the operator, then the code exchanged for new
tokens, stored as the account's secrets (audited, encrypted) and checked at once."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account, AccountUpdate
from app.auth import Principal
from app.channels import capabilities
from app.channels.comment_admin import call_platform
from app.channels.context import account_context
from app.errors import Conflict, Invalid
from app.security import decrypt_secrets
from app.users.models import Role
from connectors import registry
from connectors.base import Authorization

AUTHORIZE_ROLES = (Role.admin, Role.leader)  # those who may change an account's secrets
MAX_REDIRECT = 500


def _account(session: Session, actor: Principal, account_id: int) -> Account:
    actor.require(*AUTHORIZE_ROLES)
    account = accounts.get(session=session, account_id=account_id, principal=actor)
    return account


def _redirect(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    if len(redirect_uri) > MAX_REDIRECT or parts.scheme != "https" or not parts.hostname:
        raise Invalid("redirect_uri 须为平台后台登记的 https 回调地址")
    return redirect_uri


def authorize_url(*, session: Session, actor: Principal, account_id: int, redirect_uri: str) -> str:
    """The platform page where the account's operator authorises the app again."""
    account = _account(session, actor, account_id)
    build = registry.get(account.platform).authorize_url
    if build is None:
        raise Conflict("该平台的凭据由本系统自动续期，无需重新授权", code="not_supported")
    return build(
        secrets=decrypt_secrets(account.secrets_encrypted),
        redirect_uri=_redirect(redirect_uri),
        state=str(account_id),
    )


def complete(
    *,
    session: Session,
    actor: Principal,
    account_id: int,
    code: str,
    redirect_uri: str,
    http: httpx.Client | None = None,
) -> None:
    """Exchanges the code, stores the new token as the account's secrets and checks the account.
    409 when the platform refuses the code or it authorised another account (nothing stored)."""
    account = _account(session, actor, account_id)
    exchange = registry.get(account.platform).exchange_code
    if exchange is None:
        raise Conflict("该平台的凭据由本系统自动续期，无需重新授权", code="not_supported")
    redirect_uri = _redirect(redirect_uri)
    ctx = account_context(session=session, account=account, http=http)
    session.commit()  # no transaction held across the platform call
    got: list[Authorization] = []
    error = call_platform(
        lambda: got.append(exchange(ctx, code=code, redirect_uri=redirect_uri, now=clock.now()))
    )
    if error is not None:
        raise Conflict(f"授权未完成：{error}", code="authorization_failed")
    token = got[0].token
    secrets = {"access_token": token.access_token}
    if token.refresh_token:
        secrets["refresh_token"] = token.refresh_token
    accounts.update(session=session, actor=actor, account_id=account_id, data=AccountUpdate(secrets=secrets))
    refreshed = session.get(Account, account_id)
    assert refreshed is not None
    capabilities.check_account(session=session, account=refreshed, now=clock.now(), http=http)
