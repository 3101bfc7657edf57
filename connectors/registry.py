"""One interface over the platform modules, for the webhooks, the outbox and the pollers: `get(platform)`.

Each platform's push protocol differs, so each module declares its `Webhook` (verify and parse a push,
answer it, answer the address verification); the app calls them all the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connectors import douyin, generic, wechat, weibo
from connectors.base import (
    AccountContext,
    AfterUnknown,
    Authorization,
    Capability,
    CapabilityReport,
    PollPage,
    PublishResult,
    Webhook,
)


class PublishFn(Protocol):
    def __call__(
        self,
        ctx: AccountContext,
        *,
        thread_ref: Mapping[str, str],
        text: str,
        idempotency_key: str,
        now: datetime,
    ) -> PublishResult: ...


class FindPublishedFn(Protocol):
    def __call__(
        self, ctx: AccountContext, *, thread_ref: Mapping[str, str], text: str, now: datetime
    ) -> PublishResult | None: ...


class PollFn(Protocol):
    def __call__(
        self, ctx: AccountContext, *, target: str, cursor: str | None, now: datetime
    ) -> PollPage: ...


class RemoveFn(Protocol):
    def __call__(self, ctx: AccountContext, *, thread_ref: Mapping[str, str], now: datetime) -> None: ...


class ManageFn(Protocol):
    def __call__(
        self, ctx: AccountContext, *, action: str, thread_ref: Mapping[str, str], now: datetime
    ) -> None: ...


class SwitchCommentsFn(Protocol):
    def __call__(self, ctx: AccountContext, *, target: str, open_: bool, now: datetime) -> None: ...


class AuthorizeUrlFn(Protocol):
    def __call__(self, *, secrets: Mapping[str, str], redirect_uri: str, state: str) -> str: ...


class ExchangeCodeFn(Protocol):
    def __call__(
        self, ctx: AccountContext, *, code: str, redirect_uri: str, now: datetime
    ) -> Authorization: ...


class CheckFn(Protocol):
    def __call__(self, ctx: AccountContext, *, now: datetime) -> CapabilityReport: ...


class AfterUnknownFn(Protocol):
    def __call__(self, thread_ref: Mapping[str, str]) -> AfterUnknown: ...


class MaxCharsFn(Protocol):
    def __call__(self, thread_ref: Mapping[str, str]) -> int | None: ...


@dataclass(frozen=True)
class Connector:
    """What the app may do with an account of one platform, whatever the platform."""

    platform: str
    publish: PublishFn
    after_unknown: AfterUnknownFn  # CHECK: call find_published; RETRY: send again; HOLD: ask a person
    max_reply_chars: MaxCharsFn  # refuse longer replies at drafting, never cut them at publishing
    find_published: FindPublishedFn | None = None
    poll: PollFn | None = None  # target: WeChat "msg_data_id:index", Douyin item_id, Weibo "" (the account)
    # Takes a citizen's comment off the platform (illegal content, abuse); None: the platform has no API.
    remove: RemoveFn | None = None
    check: CheckFn | None = None  # what the account can do (scopes, token expiry, reply windows)
    # Comment administration: `manage_actions` names what `manage` takes (精选, deleting our reply…);
    # `switch_comments` opens or closes an article's comments (target as for `poll`).
    manage: ManageFn | None = None
    manage_actions: frozenset[str] = frozenset()
    switch_comments: SwitchCommentsFn | None = None
    # Re-authorisation by the account's operator (OAuth code): the page to send them to, the exchange.
    authorize_url: AuthorizeUrlFn | None = None
    exchange_code: ExchangeCodeFn | None = None
    webhook: Webhook | None = None  # how the platform pushes messages to the account's address


def _generic_check(ctx: AccountContext, *, now: datetime) -> CapabilityReport:
    """A website/app board: the integration contract gives it everything; nothing expires."""
    return CapabilityReport(
        mode="full",
        reason="",
        capabilities=[
            Capability("receive", "接收签名推送", True),
            Capability("reply", "回复推送到 reply_url", True),
        ],
    )


def _weibo_poll(ctx: AccountContext, *, target: str, cursor: str | None, now: datetime) -> PollPage:
    return weibo.poll(ctx, target=target or None, cursor=cursor, now=now)


CONNECTORS: dict[str, Connector] = {
    "wechat": Connector(
        "wechat",
        wechat.publish,
        wechat.after_unknown,
        wechat.max_reply_chars,
        wechat.find_published,
        wechat.poll,
        remove=wechat.remove,
        check=wechat.check,
        manage=wechat.manage_comment,
        manage_actions=frozenset(wechat.COMMENT_ACTIONS) - {"delete"},  # deleting is `remove`
        switch_comments=wechat.set_comments_open,
        webhook=wechat.WEBHOOK,
    ),
    "weibo": Connector(
        "weibo",
        weibo.publish,
        weibo.after_unknown,
        weibo.max_reply_chars,
        weibo.find_published,
        _weibo_poll,
        remove=weibo.remove,
        check=weibo.check,
        authorize_url=weibo.authorize_url,
        exchange_code=weibo.exchange_code,
        webhook=weibo.WEBHOOK,
    ),
    "douyin": Connector(
        "douyin",
        douyin.publish,
        douyin.after_unknown,
        douyin.max_reply_chars,
        douyin.find_published,
        douyin.poll,
        check=douyin.check,  # no documented API deletes a citizen's comment: done in the back office
        authorize_url=douyin.authorize_url,
        exchange_code=douyin.exchange_code,
        webhook=douyin.WEBHOOK,
    ),
    "generic": Connector(
        "generic",
        generic.publish,
        generic.after_unknown,
        generic.max_reply_chars,
        check=_generic_check,
        webhook=generic.WEBHOOK,
    ),
}


def get(platform: str) -> Connector:
    """The connector for `platform` (wechat, weibo, douyin, generic); KeyError if there is none."""
    return CONNECTORS[platform]
