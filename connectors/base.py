"""What every connector shares: the inbound item, the publish result, the poll page, errors, tokens.

Connectors never import `app/`; the app hands them an `AccountContext` and stores what they return.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import httpx
import orjson

from connectors.posts import Post

Kind = Literal["comment", "private", "mention"]
Outcome = Literal["sent", "refused", "retry", "unknown"]

# Webhook bodies larger than this are refused before any parsing (platform pushes are a few KB).
MAX_BODY_BYTES = 256 * 1024
# Pushes whose signed timestamp is further than this from our clock (either way) are replays.
REPLAY_WINDOW = timedelta(minutes=5)
CHINA_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class InboundItem:
    """One citizen message as a platform delivered it, before it is stored (then as a `Message` with an
    `app.messages.models.IntakeItem` in the intake queue)."""

    external_id: str
    kind: Kind
    author_id: str
    author_name: str
    content: str
    received_at: datetime
    # Everything a reply needs (all values strings): openid, msg_data_id + user_comment_id, cid + status_id…
    thread_ref: dict[str, str]
    is_echo: bool = False  # the account's own message coming back: link it to its reply, never ingest it
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformEvent:
    """A push that is not a message (subscribe, menu click…); useful for the 48-hour reply windows."""

    dedupe_key: str
    name: str
    author_id: str
    occurred_at: datetime
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Handshake:
    """A verification request the platform expects echoed back (Douyin `verify_webhook`)."""

    body: str
    media_type: str = "application/json"


@dataclass(frozen=True)
class PublishResult:
    """What happened to one reply. `reason` and `alternative` are shown to the operator (Chinese)."""

    outcome: Outcome
    platform_reply_id: str | None = None
    error_code: str | None = None
    reason: str = ""
    alternative: str | None = None
    retry_after: float | None = None  # seconds, for `retry` caused by a platform rate limit
    detail: str | None = (
        None  # what the remote answered: for the audit log (admins), never shown to operators
    )


@dataclass(frozen=True)
class PollPage:
    items: list[InboundItem]
    next_cursor: str | None
    has_more: bool


class AfterUnknown(StrEnum):
    """What the outbox may do after a timeout or a reset left the outcome unknown."""

    CHECK = "check"  # `find_published` can tell whether the reply is on the platform
    RETRY = "retry"  # the receiver deduplicates on the idempotency key, so sending again is safe
    HOLD = "hold"  # nothing can tell: hold the reply for a person rather than risk a double post


# --- errors ---------------------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every error a connector raises; `message` is Chinese, for the operator."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class SignatureError(ConnectorError):
    """The push is not signed by the platform (or was signed for another account): 401, store nothing."""


class ReplayError(ConnectorError):
    """The push's signed timestamp is outside the replay window."""


class PayloadError(ConnectorError):
    """Malformed, oversize, or hostile body (XML bombs, external entities)."""


class RateLimited(ConnectorError):
    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class MissingSecret(ConnectorError):
    """The account lacks the secret that verifies its pushes, so nothing it receives can be verified."""

    def __init__(self, name: str) -> None:
        super().__init__(f"账号未配置密钥 {name}，无法验证签名", code="not_configured")
        self.name = name


class TokenExpired(ConnectorError):
    """The account's credentials or authorisation must be renewed by a person; nothing was sent."""


class OutcomeUnknown(ConnectorError):
    """A send reached the platform but its answer cannot be read: it may or may not have been published."""


class PlatformError(ConnectorError):
    """Any other failure talking to the platform; `transient` ones are worth retrying later."""

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message, code=code)
        self.transient = transient


# --- pushes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the platform gets back for a push or a URL verification."""

    body: str
    media_type: str = "text/plain"
    status: int = 200


EMPTY_ANSWER = Answer("")


class ReceiveFn(Protocol):
    """Verifies one POSTed push (SignatureError, ReplayError, MissingSecret) and parses it (PayloadError):
    a citizen's message, an event, or a verification the platform expects echoed."""

    def __call__(
        self,
        *,
        secrets: Mapping[str, str],
        external_id: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        now: datetime,
    ) -> InboundItem | PlatformEvent | Handshake: ...


class AnswerFn(Protocol):
    """The answer to a push once it is stored (`message_id`, `created`) or recorded (None, False)."""

    def __call__(
        self, *, secrets: Mapping[str, str], message_id: int | None, created: bool, now: datetime
    ) -> Answer: ...


class HandshakeFn(Protocol):
    """A GET URL verification: the text to echo back when its signature holds (SignatureError else)."""

    def __call__(self, *, secrets: Mapping[str, str], query: Mapping[str, str]) -> str: ...


class ReceivePostFn(Protocol):
    """Verifies and parses a signed push telling that the account published something."""

    def __call__(
        self, *, secrets: Mapping[str, str], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> Post: ...


def answer_empty(
    *, secrets: Mapping[str, str], message_id: int | None, created: bool, now: datetime
) -> Answer:
    """An empty 200: what most platforms take as "received, do not retry"."""
    return EMPTY_ANSWER


@dataclass(frozen=True)
class Webhook:
    """How a platform pushes to an account's address, as its connector declares it; the app has one
    push path and one verification path for every platform (`connectors.registry.get(p).webhook`)."""

    receive: ReceiveFn
    answer: AnswerFn = answer_empty
    handshake: HandshakeFn | None = None  # platforms that verify the address with a GET
    # True when the push's signature does not cover its body (WeChat plain mode, Weibo): the app remembers
    # each (timestamp, nonce) with the body's hash and refuses the same signature over another body.
    unsigned_body: Callable[[Mapping[str, str]], bool] | None = None
    # Platforms that send every account of an app to one address (Douyin): the platform account a
    # message belongs to, stored there when that account has the same secret `same_app` (one app).
    owner: Callable[[InboundItem], str] | None = None
    same_app: str = ""
    receive_post: ReceivePostFn | None = None  # the account's own publications (website/app)


def signing_secret(secrets: Mapping[str, str], name: str) -> str:
    """The secret that verifies the account's pushes; MissingSecret when it is not configured."""
    value = secrets.get(name, "")
    if not value:
        raise MissingSecret(name)
    return value


def handshake_fields(query: Mapping[str, str]) -> dict[str, str]:
    """The signed fields of a GET verification (WeChat and Weibo name them alike); missing ones empty."""
    return {name: query.get(name, "") for name in ("signature", "timestamp", "nonce", "echostr")}


# --- tokens -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    expires_at: datetime
    refresh_token: str | None = None
    # When the refresh token itself dies (Douyin: 30 days); None when the platform has none or never said.
    refresh_expires_at: datetime | None = None

    def fresh(self, now: datetime, *, margin: timedelta = timedelta(minutes=1)) -> bool:
        return self.expires_at - margin > now


class TokenStore(Protocol):
    """Access tokens shared by all processes (the app backs this with its database)."""

    def get(self, key: str) -> StoredToken | None: ...

    def set(self, key: str, token: StoredToken) -> None: ...


class InMemoryTokenStore:
    """A `TokenStore` for tests and single-process use."""

    def __init__(self) -> None:
        self._tokens: dict[str, StoredToken] = {}

    def get(self, key: str) -> StoredToken | None:
        return self._tokens.get(key)

    def set(self, key: str, token: StoredToken) -> None:
        self._tokens[key] = token


@dataclass(frozen=True)
class AccountContext:
    """One account as a connector sees it: who it is on the platform, its secrets, and the shared tools."""

    key: str  # the app's account id
    external_id: str  # the account on the platform: WeChat gh_…, Weibo uid, Douyin open_id
    secrets: Mapping[str, str]
    http: httpx.Client
    tokens: TokenStore

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if not value:
            raise TokenExpired(f"账号缺少密钥 {name}，请在账号设置中补充", code="missing_secret")
        return value


# --- capability status ----------------------------------------------------------------------------

Mode = Literal["full", "limited", "import_only", "needs_credentials"]


@dataclass(frozen=True)
class Capability:
    """One thing the account may do on the platform (`name` is stable, `label` and `reason` Chinese)."""

    name: str
    label: str
    available: bool
    reason: str = ""


@dataclass(frozen=True)
class CapabilityReport:
    """What an account can actually do, as the platform said at `checked_at`.

    `mode`: full (everything the service uses), limited (some capability missing), import_only (the
    platform gives the account no way to receive or answer messages: import them, answer by hand),
    needs_credentials (the check itself failed on the credentials). `windows`: reply windows in hours
    per message kind. `token_expires_at` / `refresh_expires_at`: when a person must re-authorise.
    """

    mode: Mode
    reason: str
    capabilities: list[Capability]
    scopes: list[str] = field(default_factory=list)
    windows: dict[str, int] = field(default_factory=dict)
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None


@dataclass(frozen=True)
class Authorization:
    """What an OAuth code was exchanged for: the operator's new token, and whose it is."""

    user_id: str  # Weibo uid / Douyin open_id: must be the account's own
    token: StoredToken
    scopes: list[str] = field(default_factory=list)


def mode_of(capabilities: list[Capability]) -> Mode:
    """full when every capability is there, import_only when none is, limited in between."""
    present = [c.available for c in capabilities]
    if all(present):
        return "full"
    return "limited" if any(present) else "import_only"


# --- helpers shared by the platform modules -------------------------------------------------------


def sorted_sha1(*parts: str) -> str:
    """SHA-1 hex of the parts sorted and concatenated (WeChat and Weibo push signatures)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the platforms' scheme


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def check_window(timestamp: str, *, now: datetime, window: timedelta = REPLAY_WINDOW) -> datetime:
    """Parse a Unix timestamp (seconds or milliseconds) and refuse it outside `now ± window`."""
    try:
        at = from_timestamp(timestamp)
    except PayloadError as exc:
        raise ReplayError("时间戳缺失或格式错误") from exc
    if abs(at - now) > window:
        raise ReplayError("时间戳超出允许范围，疑似重放")
    return at


def header(headers: Mapping[str, str], name: str) -> str:
    """A header by case-insensitive name from any mapping (Starlette headers or a plain dict)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (platforms omit or null out sub-objects)."""
    return value if isinstance(value, dict) else {}


def json_object(body: bytes, *, name: str = "推送") -> dict[str, Any]:
    """The JSON object in a received body; PayloadError naming the body (`name`) when it is none."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"{name}不是合法的 JSON") from exc
    if not isinstance(value, dict):
        raise PayloadError(f"{name}应为 JSON 对象")
    return value


def check_size(body: bytes, max_bytes: int) -> None:
    if len(body) > max_bytes:
        raise PayloadError(f"请求体过大（{len(body)} 字节，上限 {max_bytes}）")


# No platform time before this is real (the service's data starts in 2000), nor after LATEST.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def from_timestamp(value: Any) -> datetime:
    """A platform time as UTC: Unix seconds or milliseconds, int or numeric string, within
    EARLIEST … LATEST (PayloadError otherwise: negative, 10^30 …)."""
    try:
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or len(text) > 15:
            raise ValueError(text)
        number = int(text)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"时间格式错误：{str(value)[:40]!r}") from exc
    if number > 10**11:  # milliseconds (Weibo pushes)
        number //= 1000
    if not EARLIEST.timestamp() <= number < LATEST.timestamp():
        raise PayloadError(f"时间超出合理范围：{number}")
    return datetime.fromtimestamp(number, UTC)


def seconds_until_next_hour(now: datetime) -> float:
    """Hourly platform quotas (Weibo) reset on the hour."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return max(1.0, (start - now).total_seconds())


def seconds_until_china_midnight(now: datetime) -> float:
    """Daily platform quotas (WeChat, Douyin) reset at midnight Beijing time."""
    local = now.astimezone(CHINA_TZ)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - local).total_seconds())


def backoff(
    attempt: int, *, base: float = 30.0, cap: float = 3600.0, retry_after: float | None = None
) -> float:
    """Seconds to wait before try number `attempt + 1`: exponential, capped, never below `retry_after`.

    Computed, never slept: callers schedule the next try at `now + backoff(...)`.
    """
    delay = min(cap, base * math.pow(2, max(0, attempt - 1)))
    return max(delay, retry_after or 0.0)


def transport_outcome(exc: httpx.HTTPError) -> PublishResult:
    """A publish that failed in transport: not sent if the connection never opened, else unknown.

    A connection the outbound-URL policy refused (it carries `policy_reason`) is refused for good."""
    policy_reason = getattr(exc, "policy_reason", None)
    if policy_reason:
        return PublishResult(
            "refused",
            error_code="outbound_refused",
            reason=str(policy_reason),
            alternative="请管理员核对答复接口地址，或人工在原平台答复",
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return PublishResult("retry", error_code="network", reason="无法连接平台，回复未发出，将稍后重试")
    return PublishResult(
        "unknown",
        error_code="network",
        reason="请求已发出但未收到平台应答（超时或连接中断），无法确定是否已发布",
    )


def json_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON object a platform answered; a non-JSON answer is a (transient if 5xx) platform error."""
    try:
        data = response.json()
    except ValueError as exc:
        raise PlatformError(
            f"平台返回了无法解析的应答（HTTP {response.status_code}）",
            code=f"http_{response.status_code}",
            transient=response.status_code >= 500,
        ) from exc
    if not isinstance(data, dict):
        raise PlatformError("平台应答格式错误", code="bad_response")
    return data


def reply_json(response: httpx.Response) -> dict[str, Any]:
    """`json_of` for the answer to a send: unreadable means the outcome is unknown (503: not taken)."""
    try:
        return json_of(response)
    except PlatformError as exc:
        if response.status_code == 503:
            raise PlatformError(
                "平台暂不可用（HTTP 503），请求未被受理", code="http_503", transient=True
            ) from exc
        raise OutcomeUnknown(
            f"平台返回了无法解析的应答（HTTP {response.status_code}），无法确定是否已发布",
            code=f"http_{response.status_code}",
        ) from exc
