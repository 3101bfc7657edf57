"""Demo loader: registers the demo accounts (备案) with approved openings, gives them last-post times —
some old, so the zombie check has something to show — and shows each registry flag once. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from app import clock
from app.accounts.models import Account
from app.auth import SYSTEM
from app.config import get_settings
from app.demo_common import SUPERVISOR
from app.registry import service
from app.registry.models import (
    EventCreate,
    EventStatus,
    LifecycleKind,
    Registration,
    RegistrationCreate,
    RegistryEvent,
    RegistryPlatform,
)
from app.registry.zombie import check_accounts

# Invented people and numbers (the demo county is invented too).
PERSON, TITLE, PHONES = "周晓梅", "县政府办公室副主任", ["13800001234", "0731-85550100"]


@dataclass(frozen=True)
class DemoAccount:
    external_id: str | None  # the service account it describes (None: registry only)
    platform: RegistryPlatform
    name: str
    opened: date
    registered: date
    last_post_days_ago: int | None


DEMO: tuple[DemoAccount, ...] = (
    DemoAccount("demo-wechat", RegistryPlatform.wechat, "青禾发布", date(2019, 3, 1), date(2019, 3, 5), 2),
    # Registered two weeks after opening: flagged as late.
    DemoAccount(
        "demo-weibo", RegistryPlatform.weibo, "青禾发布微博", date(2019, 5, 6), date(2019, 5, 20), 40
    ),
    DemoAccount(
        "demo-douyin", RegistryPlatform.douyin, "青禾发布抖音号", date(2020, 6, 1), date(2020, 6, 2), 20
    ),
    DemoAccount(
        "gov-board", RegistryPlatform.website, "县政府网站留言板", date(2011, 1, 4), date(2011, 1, 6), 1
    ),
    # A second WeChat account of the same office: both are flagged as duplicates.
    DemoAccount(None, RegistryPlatform.wechat, "青禾政务服务", date(2021, 9, 1), date(2021, 9, 2), None),
    # Closed with only three working days' notice: flagged.
    DemoAccount(None, RegistryPlatform.toutiao, "青禾发布头条号", date(2020, 3, 2), date(2020, 3, 3), None),
)
CLOSED = "青禾发布头条号"


def load(session: Session, data_dir: Path, summary: dict[str, Any]) -> None:
    """EXTRA_LOADERS entry: registrations for the demo accounts, post times, one zombie check."""
    _ = data_dir
    office = SUPERVISOR.code
    tz = get_settings().tz
    now = clock.now()
    created = 0
    for item in DEMO:
        account = None
        if item.external_id is not None:
            account = session.exec(select(Account).where(Account.external_id == item.external_id)).first()
            if account is None:
                continue
        exists = session.exec(
            select(Registration.id).where(
                Registration.account_name == item.name, Registration.platform == item.platform.value
            )
        ).first()
        if exists is not None:
            continue
        unit_code = account.unit_code if account is not None else office
        registration = service.register(
            session=session,
            actor=SYSTEM,
            data=RegistrationCreate(
                unit_code=unit_code,
                platform=item.platform,
                opened_on=item.opened,
                registered_on=item.registered,
                account_id=account.id if account is not None else None,
                person_in_charge=PERSON,
                person_title=TITLE,
                phones=PHONES,
                account_name=item.name,
                account_ref=item.external_id or "",
                followers=12_800,
                avg_reads=950,
                posting_frequency="每周3次",
            ),
            tz=tz,
        )
        created += 1
        opened = session.exec(
            select(RegistryEvent).where(
                RegistryEvent.registration_id == registration.id, RegistryEvent.status == EventStatus.pending
            )
        ).one()
        assert opened.id is not None and registration.id is not None
        service.decide_event(
            session=session, actor=SYSTEM, event_id=opened.id, approve=True, note="演示数据", tz=tz
        )
        if item.name == CLOSED:
            closing = service.submit_event(
                session=session,
                actor=SYSTEM,
                registration_id=registration.id,
                data=EventCreate(
                    kind=LifecycleKind.closed,
                    effective_on=date(2023, 6, 30),
                    notice_on=date(2023, 6, 27),
                    filed_on=date(2023, 6, 27),
                    note="内容并入青禾发布",
                ),
                tz=tz,
            )
            assert closing.id is not None
            service.decide_event(
                session=session,
                actor=SYSTEM,
                event_id=closing.id,
                approve=True,
                note="演示数据",
                tz=tz,
                decided_on=date(2023, 6, 28),
            )
        if account is not None and item.last_post_days_ago is not None and account.last_post_at is None:
            account.last_post_at = now - timedelta(days=item.last_post_days_ago)
            session.add(account)
    session.commit()
    result = check_accounts(session=session, now=now, tz=tz)
    summary["registrations"] = created
    summary["zombie_accounts"] = result.zombies
