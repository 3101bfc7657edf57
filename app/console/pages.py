"""The operator workbench (工作台) at `/console`: server-rendered pages (Jinja2) over the same services
as the JSON API, scoped by the signed-in user's role and units; actions are made by a small script
(`static/console.js`) calling the JSON API with the session's CSRF token. Nothing loads from other hosts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import String, cast, func
from sqlmodel import Session, col, select

from app import clock
from app.auth import SESSION_COOKIE, Principal, authenticate_session
from app.calendar.service import load_calendar
from app.config import Settings
from app.deps import SessionDep, SettingsDep
from app.errors import Forbidden, HuiyingError, NotFound, Unauthorized
from app.knowledge import service as knowledge
from app.messages import followups
from app.messages import service as messages
from app.messages.models import Message
from app.notifications import inbox
from app.privacy import masked
from app.replies import present, publishers
from app.replies.models import CLOSE_REASON_LABELS
from app.replies.workflow import ReplyState
from app.security import csrf_token_for
from app.units.models import Unit
from app.users.models import Role

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/console", include_in_schema=False)

DONE_STATUSES = frozenset({"published", "closed"})
QUEUE_LIMIT = 50
CHANGE_FORM_PATH = "/console/password"
PLATFORMS = {"wechat": "微信", "weibo": "微博", "douyin": "抖音", "generic": "网站/App"}
STATUS_LABELS = {
    "received": "待处理",
    "open": "待办",
    "drafting": "起草中",
    "in_review": "审核中",
    "approved": "待发布",
    "publishing": "发布中",
    "published": "已答复",
    "closed": "已关闭",
}
# What the message page's history shows for each audit action (the raw code where none is listed).
ACTION_LABELS = {
    "message.ingest": "收到留言",
    "message.sla": "时限状态变化",
    "message.sla_state": "时限状态变化",
    "message.transfer": "转办",
    "message.assign": "分派",
    "message.close": "关闭",
    "message.out_of_scope": "标记为非本单位职责",
    "message.reveal": "查看原文",
    "message.deadline_extended": "延长期限",
    "message.deadline_recomputed": "重算期限",
    "message.removed_from_platform": "已从平台删除",
    "message.remove_from_platform_failed": "从平台删除失败",
    "message.platform_delete_reply": "在平台删除答复",
    "message.platform_elect": "在平台标记精选",
    "message.platform_unelect": "在平台取消精选",
    "pipeline.retry": "重新处理",
    "reply.draft": "起草答复",
    "reply.edit": "修改答复",
    "reply.submit": "提交审核",
    "reply.approve": "审核通过",
    "reply.reject": "审核退回",
    "reply.escalate": "提请领导复核",
    "reply.withdraw": "撤回",
    "reply.held": "暂缓发布",
    "reply.publishing": "开始发布",
    "reply.published": "已发布",
    "reply.outcome_unknown": "发布结果待确认",
    "reply.retry": "重新发布",
    "reply.retry_scheduled": "安排重试",
    "reply.undeliverable": "无法发布",
    "reply.delivered_manually": "人工发布",
    "reply.confirm_published": "确认已发布",
    "reply.echo_confirmed": "平台回显确认",
    "reply.imported": "导入答复",
}
SLA_LABELS = {
    "on_track": "正常",
    "due_soon": "临期",
    "overdue": "超期",
    "met": "按时办结",
    "missed": "超期办结",
}
ROLE_LABELS = {
    "admin": "管理员",
    "supervisor": "督办",
    "leader": "单位负责人",
    "reviewer": "审核人",
    "operator": "办理人",
    "auditor": "审计",
}
REVIEW_ROLES = frozenset({Role.admin, Role.leader, Role.reviewer})
KB_ROLES = frozenset({Role.admin, Role.supervisor, Role.leader})
BOARD_ROLES = frozenset({Role.admin, Role.supervisor, Role.leader, Role.auditor})
REVEAL_ROLES = frozenset({Role.admin, Role.supervisor, Role.leader, Role.reviewer, Role.operator})
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class _SignInNeeded(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


class _PasswordChangeNeeded(Exception):
    """A signed-in user with an initial password opened a page other than the password page."""


async def console_user(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """The signed-in user of a page; without a valid session the page answers with the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _SignInNeeded(str(request.url.path))
    try:
        return authenticate_session(
            session=session,
            settings=settings,
            token=token,
            csrf=None,
            changes_state=False,
            allow_initial_password=request.url.path == CHANGE_FORM_PATH,
        )
    except Unauthorized:
        raise _SignInNeeded(str(request.url.path)) from None
    except Forbidden as exc:
        if exc.code == "password_change_required":
            raise _PasswordChangeNeeded from None
        raise


PageUser = Annotated[Principal, Depends(console_user)]


def install(app: Any) -> None:
    """Mounts the console pages and their static files, and sends signed-out visitors to sign in."""
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

    @app.exception_handler(_SignInNeeded)
    async def _to_login(_: Request, exc: _SignInNeeded) -> Response:
        return RedirectResponse(f"/console/login?next={quote(exc.target)}", status_code=303)

    @app.exception_handler(_PasswordChangeNeeded)
    async def _to_password(_: Request, exc: _PasswordChangeNeeded) -> Response:
        return RedirectResponse(f"{CHANGE_FORM_PATH}?initial=1", status_code=303)


def _render(request: Request, name: str, principal: Principal | None, **context: Any) -> HTMLResponse:
    token = request.cookies.get(SESSION_COOKIE)
    context.update(
        user=principal,
        role_label=ROLE_LABELS.get(principal.role.value, "") if principal else "",
        csrf=csrf_token_for(token) if (token and principal) else "",
        nav=_nav(principal) if principal else [],
        platforms=PLATFORMS,
        status_labels=STATUS_LABELS,
        sla_labels=SLA_LABELS,
        action_labels=ACTION_LABELS,
    )
    response = templates.TemplateResponse(request, name, context)
    response.headers.update(SECURITY_HEADERS)
    return response


def _error_page(request: Request, principal: Principal, exc: HuiyingError) -> HTMLResponse:
    response = _render(request, "error.html", principal, status=exc.status, message=exc.message)
    response.status_code = exc.status
    return response


def _nav(principal: Principal) -> list[tuple[str, str]]:
    items = [("/console", "我的待办")]
    if principal.role in REVIEW_ROLES:
        items.append(("/console/review", "审核"))
    items.append(("/console/inbox", "通知"))
    if principal.role in KB_ROLES:
        items.append(("/console/kb", "问答库"))
    if principal.role in BOARD_ROLES:
        items.append(("/board", "督办看板"))
        items.append(("/console/reports", "报表下载"))
    return items


# ---------------------------------------------------------------- deadlines in words


def deadline_words(message: Any, *, now: datetime, session: Session, settings: Settings) -> tuple[str, str]:
    """("还剩 N 个工作日" / "今天到期" / "已超期 N 天" / …, css class) for a message's deadline."""
    if message.status in DONE_STATUSES:
        return ("已办结", "done")
    if message.due_at is None:
        return ("未定时限", "none")
    tz = settings.tz
    today = now.astimezone(tz).date()
    due_on = message.due_at.astimezone(tz).date()
    if now > message.due_at:
        return (f"已超期 {max((today - due_on).days, 1)} 天", "overdue")
    if due_on == today:
        return ("今天到期", "due_soon")
    calendar = load_calendar(session=session)
    left = sum(
        1 for n in range(1, (due_on - today).days + 1) if calendar.is_workday(today + timedelta(days=n))
    )
    return (f"还剩 {left} 个工作日", "due_soon" if message.sla_state == "due_soon" else "on_track")


def _explanation(message: Any) -> str:
    basis = getattr(message, "deadline_basis", None) or {}
    return str(basis.get("explanation") or "")


# ---------------------------------------------------------------- pages


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/console") -> HTMLResponse:
    # Only local paths: never send a person to another site after signing in.
    target = next if next.startswith("/") and not next.startswith("//") else "/console"
    return _render(request, "login.html", None, next=target)


def _parse_day(value: str | None, tz: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=tz)
    except ValueError:
        return None


def _tab_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Open messages per tab: all, sensitive, due soon, overdue."""
    base = select(Message.sla_state, func.count()).where(col(Message.status).not_in(list(DONE_STATUSES)))
    if principal.units is not None:
        base = base.where(col(Message.unit_code).in_(principal.units))
    counts = {"all": 0, "due_soon": 0, "overdue": 0}
    for state, number in session.execute(base.group_by(col(Message.sla_state))):
        counts["all"] += number
        if state in counts:
            counts[state] += number
    sensitive = base.with_only_columns(func.count()).where(
        cast(col(Message.flags), String).like('%"sensitive"%')
    )
    counts["sensitive"] = int(session.execute(sensitive).scalar_one())
    return counts


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    tab: str = "all",
    q: Annotated[str, Query(max_length=100)] = "",
    status: str = "",
    sla_state: str = "",
    platform: str = "",
    account_id: str = "",
    unit_code: str = "",
    date_from: str = "",
    date_to: str = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    tz = settings.tz
    until = _parse_day(date_to, tz)
    filters: dict[str, Any] = {
        "status": status if status in STATUS_LABELS else None,
        "sla_state": sla_state
        if sla_state in SLA_LABELS
        else tab
        if tab in ("due_soon", "overdue")
        else None,
        "platform": platform if platform in PLATFORMS else None,
        "account_id": int(account_id) if account_id.isdigit() else None,
        "unit_code": unit_code or None,
        "received_from": _parse_day(date_from, tz),
        "received_to": until + timedelta(days=1) if until else None,
    }
    error = ""
    next_cursor: str | None = None
    try:
        rows, next_cursor = messages.list_messages(
            session=session,
            principal=user,
            q=q.strip() or None,
            open_only=filters["status"] is None,
            flag="sensitive" if tab == "sensitive" else None,
            sort="due_at",
            limit=QUEUE_LIMIT,
            cursor=cursor or None,
            **filters,
        )
    except HuiyingError as exc:
        rows, error = [], exc.message
    # Within the page: sensitive first, then the soonest deadline (the page came ordered by deadline).
    rows.sort(key=lambda m: "sensitive" not in (m.flags or []))
    now = clock.now()
    items = [
        {
            "m": m,
            "deadline": deadline_words(m, now=now, session=session, settings=settings),
            "explanation": _explanation(m),
            "excerpt": present_text(m)[:80],
        }
        for m in rows
    ]
    form = {
        "q": q,
        "status": status,
        "sla_state": sla_state,
        "platform": platform,
        "account_id": account_id,
        "unit_code": unit_code,
        "date_from": date_from,
        "date_to": date_to,
    }
    return _render(
        request,
        "queue.html",
        user,
        items=items,
        counts=_tab_counts(session, user),
        tab=tab,
        error=error,
        form=form,
        units=_visible_units(session, user),
        limit=QUEUE_LIMIT,
        next_url=_queue_url(tab, form, next_cursor) if next_cursor else "",
        first_url=_queue_url(tab, form, None) if cursor else "",
    )


def _queue_url(tab: str, form: dict[str, str], cursor: str | None) -> str:
    """The queue page with the same tab and filters, at `cursor` (None: the first page)."""
    params = {"tab": tab, **{k: v for k, v in form.items() if v}}
    if cursor:
        params["cursor"] = cursor
    return "/console?" + urlencode(params)


def present_text(message: Message) -> str:
    return " ".join(masked(message.content).split())


def _visible_units(session: Session, principal: Principal) -> list[Unit]:
    query = select(Unit).order_by(col(Unit.code))
    if principal.units is not None:
        query = query.where(col(Unit.code).in_(principal.units))
    return list(session.exec(query))


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message_page(
    request: Request, message_id: int, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    try:
        full = present.full(session=session, principal=user, message_id=message_id)
        stored = messages.get(session=session, message_id=message_id, principal=user)
    except HuiyingError as exc:
        return _error_page(request, user, exc)
    replies = full.replies
    current = replies[-1] if replies else None
    open_draft = current if current is not None and current.state == ReplyState.drafting.value else None
    all_units = list(session.exec(select(Unit).order_by(col(Unit.code))))
    chain = followups.conversation(session=session, principal=user, message_id=message_id)
    return _render(
        request,
        "message.html",
        user,
        full=full,
        msg=full.message,
        deadline=deadline_words(stored, now=clock.now(), session=session, settings=settings),
        explanation=_explanation(stored),
        limit=publishers.reply_limit(stored),
        draft=open_draft,
        replies=replies,
        units=[u for u in all_units if u.code != stored.unit_code],
        close_reasons={k.value: v for k, v in CLOSE_REASON_LABELS.items()},
        chain=[
            {
                "m": m,
                "excerpt": present_text(m)[:120],
                "replies": present.replies_of(session=session, message=m, principal=user),
            }
            for m in chain
        ]
        if len(chain) > 1
        else [],
        may_reveal=user.role in REVEAL_ROLES,
        may_close=user.role in REVIEW_ROLES,
        may_work=user.role in (Role.admin, Role.leader, Role.reviewer, Role.operator),
        tz=settings.tz,
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, session: SessionDep, settings: SettingsDep, user: PageUser) -> HTMLResponse:
    if user.role not in REVIEW_ROLES:
        return _error_page(request, user, Forbidden("当前角色没有审核任务"))
    states = []
    if user.role in (Role.reviewer, Role.admin, Role.leader):
        states.append(("in_review", "待审核"))
    if user.role in (Role.leader, Role.admin):
        states.append(("leader_review", "待领导复核"))
    boxes = []
    for state, label in states:
        items, _ = present.list_replies(
            session=session, principal=user, state=ReplyState(state), message_id=None, limit=100, cursor=None
        )
        rows = []
        for reply in items:
            try:
                message = messages.get(session=session, message_id=reply.message_id, principal=user)
            except NotFound:
                continue
            rows.append({"reply": reply, "message": message, "excerpt": present_text(message)[:120]})
        boxes.append({"state": state, "label": label, "rows": rows})
    return _render(request, "review.html", user, boxes=boxes, tz=settings.tz)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser, unread: bool = False
) -> HTMLResponse:
    page = inbox.list_inbox(session=session, principal=user, unread_only=unread, limit=100)
    return _render(request, "inbox.html", user, page=page, unread=unread, tz=settings.tz)


@router.get("/kb", response_class=HTMLResponse)
def kb_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    q: Annotated[str, Query(max_length=100)] = "",
    entry: int | None = None,
) -> HTMLResponse:
    if user.role not in KB_ROLES:
        return _error_page(request, user, Forbidden("问答库维护仅限单位负责人、督办和管理员"))
    try:
        items, _ = knowledge.list_entries(session=session, principal=user, limit=100, q=q.strip() or None)
        chosen = knowledge.get(session=session, entry_id=entry, principal=user) if entry else None
        versions = knowledge.versions(session=session, entry_id=entry, principal=user) if entry else []
    except HuiyingError as exc:
        return _error_page(request, user, exc)
    return _render(
        request,
        "kb.html",
        user,
        items=items,
        q=q,
        chosen=chosen,
        versions=versions,
        units=_visible_units(session, user),
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, user: PageUser) -> HTMLResponse:
    if user.role not in BOARD_ROLES:
        return _error_page(request, user, Forbidden("当前角色无权查看报表"))
    return _render(request, "reports.html", user)


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, user: PageUser, initial: bool = False) -> HTMLResponse:
    return _render(request, "password.html", user, initial=initial)
