"""HTTP routes of the channels: platform webhooks (authenticated by their signatures, not by tokens),
poll targets and health per account, and message imports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status

from app import clock
from app.channels import authorize, capabilities, comment_admin, health, removals, targets, webhooks
from app.channels.http import UNAUTHENTICATED, query_doc, raw_body_doc, read_body
from app.channels.imports import import_messages, parse_mapping
from app.channels.models import (
    AuthorizeComplete,
    AuthorizeStart,
    AuthorizeUrl,
    CommentAction,
    CommentSwitch,
    HealthPublic,
    HealthState,
    ImportReport,
    PollingUpdate,
    PollTargetCreate,
    PollTargetPublic,
    PollTargetUpdate,
    RemovalCreate,
    RemovalPublic,
)
from app.deps import CurrentUser, SessionDep
from app.messages.models import MessageKind
from connectors.base import Answer

TAG = "平台接入"
webhooks_router = APIRouter(prefix="/webhooks", tags=[TAG])
channels_router = APIRouter(tags=[TAG])
imports_router = APIRouter(prefix="/imports", tags=["留言导入"])


def _answer(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


_WECHAT_QUERY = {
    "signature": "SHA1(排序后的 token、timestamp、nonce)",
    "timestamp": "Unix 秒",
    "nonce": "随机数",
    "openid": "发送者 openid",
    "encrypt_type": "安全模式为 aes",
    "msg_signature": "安全模式的消息签名：SHA1(排序后的 token、timestamp、nonce、Encrypt)",
}
_WEIBO_QUERY = {
    "signature": "SHA1(排序后的 app_secret、timestamp、nonce)",
    "timestamp": "Unix 毫秒",
    "nonce": "随机数",
}
# The address verification's fields, as the GET routes declared them before (signed, echoed back).
_HANDSHAKE_QUERY = dict.fromkeys(("signature", "timestamp", "nonce", "echostr"), "")

# How each platform's address is documented; the routes are the same two functions for all of them.
_PUSH_DOCS: dict[str, dict[str, Any]] = {
    "wechat": {
        "summary": "接收微信公众号消息推送",
        "description": "明文模式与安全模式（AES）推送：验签（安全模式校验 msg_signature 并解密）、拒绝超过5分钟的重放，\n"
        "先落库（按 MsgId 去重，事件按 FromUserName+CreateTime）再回复 `success`，满足5秒内应答的要求。\n"
        "配置了 EncodingAESKey 的账号只接受安全模式推送。",
        "responses": {
            200: {"description": "已保存，返回 success", "content": {"text/plain": {"example": "success"}}},
            **UNAUTHENTICATED,
        },
        "openapi_extra": raw_body_doc(
            "text/xml",
            "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><Encrypt><![CDATA[...]]></Encrypt></xml>",
            _WECHAT_QUERY,
        ),
    },
    "weibo": {
        "summary": "接收微博私信推送",
        "description": "粉丝服务平台推送的私信、@提及与事件：验签、拒绝重放，落库后返回空的 200。",
        "openapi_extra": raw_body_doc(
            "application/json",
            '{"type":"text","receiver_id":"5612345678","sender_id":"1902538057",'
            '"created_at":"Mon Jul 16 18:09:20 +0800 2012","text":"请问社保卡在哪里补办？","data":{}}',
            _WEIBO_QUERY,
        ),
    },
    "douyin": {
        "summary": "接收抖音 Webhook",
        "description": "抖音开放平台的 Webhook：`verify_webhook` 原样返回 challenge；"
        "`X-Douyin-Signature` = SHA1(client_secret + 原始请求体)；\n"
        "私信（im_receive_msg）按 Msg-Id 去重落库；本账号发出的消息（im_send_msg）作为回显关联到对应答复。\n"
        "同一应用下其他已登记账号的私信按 `to_user_id` 存入对应账号。",
        "openapi_extra": raw_body_doc(
            "application/json",
            '{"event":"verify_webhook","client_key":"awxxxxxxxx","content":{"challenge":12345}}',
        ),
    },
    "generic": {
        "summary": "网站/App 留言推送（签名）",
        "description": "请求体同 `POST /messages`（不含 account_id）。请求头 `X-Huiying-Timestamp`（Unix 秒）与\n"
        '`X-Huiying-Signature: sha256=<HMAC-SHA256(hmac_secret, timestamp + "." + 原始请求体) 的十六进制>`；\n'
        "时间戳超过5分钟视为重放（401）。首次 201，重复投递 200 且返回同一个 `id`。",
        "status_code": status.HTTP_201_CREATED,
        "responses": {200: {"description": "重复投递：返回已保存的同一条留言的 id"}, **UNAUTHENTICATED},
        "openapi_extra": raw_body_doc(
            "application/json",
            '{"external_id":"web-20240506-001","kind":"comment","author":{"id":"u1001","name":"市民"},'
            '"content":"小区门口路灯不亮，请尽快维修","received_at":"2024-05-06T09:30:00+08:00"}',
        ),
    },
}
_HANDSHAKE_DOCS: dict[str, dict[str, Any]] = {
    "wechat": {
        "summary": "微信公众号服务器验证",
        "description": "公众号后台“服务器配置”提交时微信发来的验证请求：`signature` = SHA1(排序后的 token、timestamp、nonce)，\n"
        "通过则原样返回 `echostr`。服务器地址填 `https://<域名>/api/v1/webhooks/wechat/{账号ID}`。",
        "openapi_extra": query_doc(_HANDSHAKE_QUERY),
    },
    "weibo": {
        "summary": "微博粉丝服务URL验证",
        "description": "微博粉丝服务平台的回调地址验证：`signature` = SHA1(排序后的 app_secret、timestamp、nonce)，"
        "通过则返回 `echostr`。",
        "openapi_extra": query_doc(_HANDSHAKE_QUERY),
    },
}


# --- webhooks -------------------------------------------------------------------------------------------


def _push_route(platform: str) -> Callable[..., Awaitable[Response]]:
    async def push(account_id: int, request: Request, session: SessionDep) -> Response:
        body = await read_body(request)
        answer = await webhooks.push(
            session=session,
            platform=platform,
            account_id=account_id,
            query=request.query_params,
            headers=request.headers,
            body=body,
            now=clock.now(),
        )
        return _answer(answer)

    return push


def _handshake_route(platform: str) -> Callable[..., Awaitable[Response]]:
    async def verify(account_id: int, request: Request, session: SessionDep) -> Response:
        return _answer(
            webhooks.handshake(
                session=session, platform=platform, account_id=account_id, query=request.query_params
            )
        )

    return verify


# In the order the routes always had: per platform, its verification (GET) before its push (POST).
for _platform, _doc in _PUSH_DOCS.items():
    if _platform in _HANDSHAKE_DOCS:
        webhooks_router.add_api_route(
            f"/{_platform}/{{account_id}}",
            _handshake_route(_platform),
            methods=["GET"],
            name=f"{_platform}_verify",
            response_class=Response,
            responses=UNAUTHENTICATED,
            **_HANDSHAKE_DOCS[_platform],
        )
    webhooks_router.add_api_route(
        f"/{_platform}/{{account_id}}",
        _push_route(_platform),
        methods=["POST"],
        name=f"{_platform}_push",
        response_class=Response,
        **{"responses": UNAUTHENTICATED, **_doc},
    )


# --- health and poll targets ------------------------------------------------------------------------------


@channels_router.get("/accounts/{account_id}/health", response_model=HealthPublic, summary="账号接入状态")
def account_health(account_id: int, session: SessionDep, user: CurrentUser) -> HealthPublic:
    """轮询与推送的健康状况：最近成功时间、最近错误、连续失败次数、退避到何时、滞后秒数、各轮询目标的游标。"""
    return health.get(session=session, principal=user, account_id=account_id, now=clock.now())


@channels_router.post(
    "/accounts/{account_id}/health/check", response_model=HealthPublic, summary="立即检查账号平台能力"
)
def check_account_capability(account_id: int, session: SessionDep, user: CurrentUser) -> HealthPublic:
    """向平台查询该账号实际获得的能力（授权范围、令牌到期时间、回复时限），结果写入 capability。
    配置或更换密钥后调用；系统每天自动检查一次，密钥变更后也会在十分钟内自动检查。
    抖音账号未获得评论与私信授权时显示为“仅导入”并说明原因。管理员、领导可用。"""
    capabilities.check_now(session=session, actor=user, account_id=account_id)
    return health.get(session=session, principal=user, account_id=account_id, now=clock.now())


@channels_router.post(
    "/accounts/{account_id}/authorize-url", response_model=AuthorizeUrl, summary="重新授权：获取平台授权页"
)
def start_authorization(
    account_id: int, data: AuthorizeStart, session: SessionDep, user: CurrentUser
) -> AuthorizeUrl:
    """微博 access_token 到期、抖音 refresh_token 将过期时，生成平台授权页地址，请账号运营者打开并登录/扫码。
    管理员、领导（限本单位）可用。微信公众号凭据自动续期，返回 409。"""
    url = authorize.authorize_url(
        session=session, actor=user, account_id=account_id, redirect_uri=data.redirect_uri
    )
    return AuthorizeUrl(url=url)


@channels_router.post(
    "/accounts/{account_id}/authorize", response_model=HealthPublic, summary="重新授权：提交平台回调的授权码"
)
def complete_authorization(
    account_id: int, data: AuthorizeComplete, session: SessionDep, user: CurrentUser
) -> HealthPublic:
    """用平台回调带回的 code 换取新的令牌，加密保存为账号密钥（记入审计）并立即检查账号能力。
    授权码无效或授权的不是本账号时返回 409，原有密钥不变。"""
    authorize.complete(
        session=session, actor=user, account_id=account_id, code=data.code, redirect_uri=data.redirect_uri
    )
    return health.get(session=session, principal=user, account_id=account_id, now=clock.now())


@channels_router.post(
    "/messages/{message_id}/remove-from-platform",
    response_model=RemovalPublic,
    summary="从平台删除留言（违法、辱骂等）",
)
def remove_from_platform(
    message_id: int, data: RemovalCreate, session: SessionDep, user: CurrentUser, response: Response
) -> RemovalPublic:
    """在平台上删除该条公开留言（微信图文留言、微博评论），须填写原因；仅管理员、督办、领导可用（领导限本单位）。
    留言及其内容在本系统中保留作为证据，操作记入审计。已删除的再次调用直接返回原记录（200）；
    新删除返回 201。平台未提供删除接口（抖音、私信、网站留言板）或平台拒绝时返回 409 并说明原因。"""
    row, created = removals.remove(session=session, actor=user, message_id=message_id, data=data)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return removals.public(row)


@channels_router.post(
    "/messages/{message_id}/platform-actions",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="留言精选、取消精选、删除本账号回复",
)
def platform_action(message_id: int, data: CommentAction, session: SessionDep, user: CurrentUser) -> Response:
    """对微信图文留言执行：标记精选（elect）、取消精选（unelect）、删除本账号的回复（delete_reply）。
    管理员、督办、领导（限本单位）可用，操作记入审计；平台不支持或拒绝时返回 409 并说明原因。"""
    comment_admin.act_on_message(session=session, actor=user, message_id=message_id, action=data.action)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@channels_router.post(
    "/accounts/{account_id}/comment-switch",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="开启或关闭图文留言",
)
def comment_switch(account_id: int, data: CommentSwitch, session: SessionDep, user: CurrentUser) -> Response:
    """开启或关闭微信公众号某篇已群发图文（msg_data_id:index）的留言功能。管理员、督办、领导（限本单位）可用，记入审计。"""
    comment_admin.switch_comments(
        session=session, actor=user, account_id=account_id, target=data.target, open_=data.open
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@channels_router.get(
    "/messages/{message_id}/platform-removals", response_model=list[RemovalPublic], summary="平台删除记录"
)
def removal_history(message_id: int, session: SessionDep, user: CurrentUser) -> list[RemovalPublic]:
    """该留言在平台上的删除记录（含失败的尝试及平台给出的原因）。"""
    return [removals.public(r) for r in removals.history(session=session, actor=user, message_id=message_id)]


@channels_router.get("/channels/health", response_model=list[HealthPublic], summary="全部账号接入状态")
def list_health(
    session: SessionDep,
    user: CurrentUser,
    platform: str | None = None,
    unit_code: str | None = None,
    state: Annotated[
        HealthState | None,
        Query(description="ok/idle/failing/rate_limited/needs_credentials/import_only（仅导入）"),
    ] = None,
) -> list[HealthPublic]:
    """当前用户可见的各账号接入状态，可按平台、单位、状态筛选（例如 `state=failing` 找出需要处理的账号）。"""
    return health.list_all(
        session=session, principal=user, now=clock.now(), platform=platform, unit_code=unit_code, state=state
    )


@channels_router.get(
    "/accounts/{account_id}/poll-targets", response_model=list[PollTargetPublic], summary="轮询目标列表"
)
def list_targets(account_id: int, session: SessionDep, user: CurrentUser) -> list[PollTargetPublic]:
    return [
        health.target_public(t)
        for t in targets.list_targets(session=session, actor=user, account_id=account_id)
    ]


@channels_router.post(
    "/accounts/{account_id}/poll-targets",
    response_model=PollTargetPublic,
    status_code=status.HTTP_201_CREATED,
    summary="添加轮询目标",
)
def add_target(
    account_id: int, data: PollTargetCreate, session: SessionDep, user: CurrentUser
) -> PollTargetPublic:
    """微信公众号：图文留言（`msg_data_id:index`）；抖音企业号：视频评论（`item_id`）；微博：留空，轮询“收到的评论”。
    游标与收到的评论在同一事务中提交，重启后既不漏也不重。"""
    return health.target_public(targets.add(session=session, actor=user, account_id=account_id, data=data))


@channels_router.patch(
    "/accounts/{account_id}/poll-targets/{target_id}", response_model=PollTargetPublic, summary="修改轮询目标"
)
def update_target(
    account_id: int, target_id: int, data: PollTargetUpdate, session: SessionDep, user: CurrentUser
) -> PollTargetPublic:
    """改名、暂停/恢复，或 `restart` 从头重新扫描（已入库的不会重复）。"""
    row = targets.update(session=session, actor=user, account_id=account_id, target_id=target_id, data=data)
    return health.target_public(row)


@channels_router.delete(
    "/accounts/{account_id}/poll-targets/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="删除轮询目标",
)
def delete_target(account_id: int, target_id: int, session: SessionDep, user: CurrentUser) -> Response:
    targets.delete(session=session, actor=user, account_id=account_id, target_id=target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@channels_router.patch("/accounts/{account_id}/polling", response_model=HealthPublic, summary="设置轮询")
def set_polling(account_id: int, data: PollingUpdate, session: SessionDep, user: CurrentUser) -> HealthPublic:
    """开启/暂停该账号的轮询、设置间隔（秒，30–86400）；修改后立即安排一次轮询。"""
    targets.set_polling(session=session, actor=user, account_id=account_id, data=data)
    return health.get(session=session, principal=user, account_id=account_id, now=clock.now())


# --- imports ------------------------------------------------------------------------------------------------


@imports_router.post("/messages", response_model=ImportReport, summary="导入留言（CSV/XLSX）")
def import_file(
    session: SessionDep,
    user: CurrentUser,
    account_id: Annotated[int, Query(description="导入到哪个账号（如“12345热线”账号）")],
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GB18030）或 XLSX")],
    kind: Annotated[MessageKind, Query(description="留言类型")] = MessageKind.comment,
    mapping: Annotated[
        str | None,
        Form(
            description="列映射 JSON（可选），字段：external_id、subject、content、posted_at、author、reply、replied_at，"
            '例如 {"content": "诉求内容", "posted_at": "登记时间"}'
        ),
    ] = None,
) -> ImportReport:
    """导入 12345 热线或旧留言板的导出文件。默认识别“编号/留言主题/留言详情/留言时间/留言用户/答复意见/答复时间”等中文表头。
    逐行校验，返回 `imported`（新入库）、`duplicates`（已存在）、`rejected[{row, reason}]`；同一文件重复导入不会重复入库。
    原系统已答复的留言直接记为已答复（按原答复时间统计时限）。"""
    data = file.file.read()
    return import_messages(
        session=session,
        actor=user,
        account_id=account_id,
        data=data,
        filename=file.filename or "upload.csv",
        kind=kind,
        mapping=parse_mapping(mapping),
    )
