"""Demo data: the development units and Q&A set, one account per platform, and the real 2020 board
messages with their real times. Idempotent: running it again adds nothing twice."""

from __future__ import annotations

import csv
import json
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app import outbound
from app.accounts import service as accounts
from app.accounts.models import Account, AccountCreate, AccountUpdate, Platform
from app.auth import SYSTEM
from app.config import get_settings
from app.db import session_scope
from app.demo_common import SUPERVISOR, parse_local_time
from app.errors import Invalid
from app.intake.pipeline import Pipeline
from app.knowledge import demo as knowledge_demo
from app.messages import service as messages
from app.messages.models import Author, MessageCreate, MessageKind
from app.registry import demo as registry_demo
from app.replies import demo as replies_demo
from app.reports import demo as reports_demo
from app.units import service as units
from app.units.models import UnitCreate

REPO = Path(__file__).resolve().parent.parent
INSTALLED_DATA = Path(sys.prefix) / "share" / "huiying" / "data"  # pyproject: [tool.setuptools.data-files]


def _drain_intake(session: Session, _data_dir: Path, _summary: dict[str, Any]) -> None:
    """Runs the intake pipeline over every stored message (the loaders after it see routed messages)."""
    session.commit()
    Pipeline().drain()
    session.expire_all()


# Extra demo loaders registered by domains (KB entries, replies …): each gets (session, data_dir, summary).
EXTRA_LOADERS: list[Callable[[Session, Path, dict[str, Any]], None]] = []
EXTRA_LOADERS.append(knowledge_demo.load)  # the development Q&A set, before the pipeline runs
EXTRA_LOADERS.append(replies_demo.load)  # official replies of the 2020 board, at their real times
EXTRA_LOADERS.append(reports_demo.load_hot_messages)  # the board's hot messages
EXTRA_LOADERS.append(_drain_intake)  # route and check every stored message (defined above)
EXTRA_LOADERS.append(reports_demo.apply_board_deadlines)  # after the intake: its deadline step is done
EXTRA_LOADERS.append(registry_demo.load)  # account registrations, post times, zombie check


def default_data_dir() -> Path:
    """`HUIYING_DEMO_DATA` if set, else the checkout's data/ folder (a clone, an editable install, the
    Docker image), else the copy installed with the package under <prefix>/share/huiying/data."""
    configured = os.environ.get("HUIYING_DEMO_DATA")
    if configured:
        return Path(configured)
    checkout = REPO / "data"
    return INSTALLED_DATA if not checkout.is_dir() and INSTALLED_DATA.is_dir() else checkout


def _ensure_account(
    session: Session, platform: Platform, name: str, external_id: str, unit_code: str
) -> Account:
    existing = session.exec(
        select(Account).where(Account.platform == platform.value, Account.external_id == external_id)
    ).first()
    if existing:
        return existing
    return accounts.create(
        session=session,
        actor=SYSTEM,
        data=AccountCreate(platform=platform, name=name, external_id=external_id, unit_code=unit_code),
    )


def _ensure_publishing(session: Session, account: Account, reply_url: str) -> None:
    """Gives the demo website account what publishing needs: an hmac_secret (generated once) and the
    reply_url of the demo receiver (updated when it moved, e.g. to another port)."""
    current = accounts.secrets_of(account)
    wanted = {"hmac_secret": current.get("hmac_secret") or secrets.token_urlsafe(32), "reply_url": reply_url}
    if any(current.get(key) != value for key, value in wanted.items()):
        assert account.id is not None
        accounts.update(
            session=session, actor=SYSTEM, account_id=account.id, data=AccountUpdate(secrets=wanted)
        )


def load_demo(*, data_dir: str | Path | None = None, receiver_url: str | None = None) -> dict[str, Any]:
    """Loads the demo set from `data_dir` (default: the repository's data/ folder); the demo website
    account publishes to `receiver_url` (default: the `HUIYING_DEMO_RECEIVER_URL` setting)."""
    folder = Path(data_dir) if data_dir else default_data_dir()
    dev_eval = folder / "dev_eval.json"
    if not dev_eval.exists():
        raise SystemExit(
            f"demo data not found in {folder}: set HUIYING_DEMO_DATA to the folder with dev_eval.json"
        )
    data = json.loads(dev_eval.read_text(encoding="utf-8"))
    summary: dict[str, Any] = {"units": 0, "accounts": 0, "messages": 0}
    tz = ZoneInfo("Asia/Shanghai")
    with session_scope() as session:
        if units.get_by_code(session=session, code=SUPERVISOR.code) is None:
            units.create(session=session, actor=SYSTEM, data=SUPERVISOR)
            summary["units"] += 1
        for item in data["units"]:
            if units.get_by_code(session=session, code=item["code"]) is None:
                units.create(
                    session=session,
                    actor=SYSTEM,
                    data=UnitCreate(
                        code=item["code"],
                        name=item["name"],
                        keywords=item["keywords"],
                        parent_code=SUPERVISOR.code,
                        supervisor_code=SUPERVISOR.code,
                    ),
                )
                summary["units"] += 1
        board = _ensure_account(session, Platform.generic, "县政府网站留言板", "gov-board", SUPERVISOR.code)
        target = receiver_url or get_settings().demo_receiver_url
        try:
            outbound.check_url(target)
        except Invalid as exc:
            # The receiver is on this machine: without HUIYING_OUTBOUND_ALLOWED_NETWORKS allowing it
            # (`make run` does), the board account gets no reply_url and its replies are held.
            summary["receiver"] = f"演示接收端未启用：{exc.message}"
        else:
            _ensure_publishing(session, board, target)
        for platform, name in (
            (Platform.wechat, "青禾发布"),
            (Platform.weibo, "青禾发布微博"),
            (Platform.douyin, "青禾发布抖音号"),
        ):
            _ensure_account(session, platform, name, f"demo-{platform.value}", SUPERVISOR.code)
        summary["accounts"] = len(session.exec(select(Account)).all())

        replies_csv = folder / "wenzheng-2020" / "messages_with_replies.csv"
        if replies_csv.exists():
            with replies_csv.open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    assert board.id is not None
                    _, created = messages.ingest(
                        session=session,
                        actor=SYSTEM,
                        account=board,
                        data=MessageCreate(
                            account_id=board.id,
                            external_id=f"wz-{row['id']}",
                            kind=MessageKind.comment,
                            author=Author(id=row["user"], name=row["user"]),
                            content=f"{row['subject']}。{row['content']}",
                            received_at=parse_local_time(row["posted_at"], tz),
                        ),
                    )
                    summary["messages"] += int(created)
        for loader in EXTRA_LOADERS:
            loader(session, folder, summary)
    return summary
