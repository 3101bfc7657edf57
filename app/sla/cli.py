"""`huiying calendar …` and `huiying sla …`: enter a year's arrangement from a file, show a year, run the
sweep and the notification job once (operators, cron, drills)."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from app.auth import SYSTEM
from app.calendar import service as calendar_days
from app.calendar.models import YearPut
from app.db import session_scope
from app.notifications.delivery import send_pending
from app.sla import days
from app.sla.escalation import delivery_rules
from app.sla.sweep import sweep

KIND_WORDS = {
    "holiday": "holiday",
    "放假": "holiday",
    "休": "holiday",
    "workday": "workday",
    "上班": "workday",
    "班": "workday",
}


def read_days(path: Path) -> list[dict[str, str]]:
    """Days from a CSV (columns date, kind, note; kind holiday/workday or 放假/上班) or a JSON list
    of {date, kind, note} (or {"days": [...]})."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        items: list[dict[str, Any]] = data["days"] if isinstance(data, dict) else data
    else:
        items = list(csv.DictReader(text.splitlines()))
    days = []
    for item in items:
        kind = KIND_WORDS.get(str(item.get("kind", "")).strip())
        if kind is None:
            raise SystemExit(
                f"{path}: 无法识别的类型 {item.get('kind')!r}（应为 holiday/workday 或 放假/上班）"
            )
        days.append(
            {"date": str(item["date"]).strip(), "kind": kind, "note": str(item.get("note") or "").strip()}
        )
    return days


def _import_year(args: argparse.Namespace) -> int:
    data = YearPut.model_validate(
        {"days": read_days(Path(args.file)), "complete": not args.incomplete, "note": args.note}
    )
    with session_scope() as session:
        result = days.set_year(session=session, actor=SYSTEM, year=args.year, data=data)
    print(
        f"{args.year}: {result.overrides} 天已录入，完整={result.complete}，重新计算 {result.recomputed} 条留言的时限"
    )
    return 0


def _show_year(args: argparse.Namespace) -> int:
    with session_scope() as session:
        year = calendar_days.list_year(session=session, year=args.year)
    state = "暂定" if year.provisional else ("已录入" if year.complete else "国务院安排")
    print(f"{year.year}（{state}）")
    for day in year.days:
        print(
            f"{day.date.isoformat()} {day.weekday} {day.label:<12} {day.source_label}{' ' + day.note if day.note else ''}"
        )
    return 0


def _run_once(_: argparse.Namespace) -> int:
    swept = sweep()
    sent = send_pending(rules=delivery_rules)
    print(
        f"检查 {swept.checked} 条：临期 {swept.due_soon}，超期 {swept.overdue}，督办步骤 {swept.steps}；"
        f"通知：发送 {sent.sent}，重试 {sent.retried}，失败 {sent.failed}，跳过 {sent.skipped}，取消 {sent.cancelled}"
    )
    return 0


def register(sub: Any) -> None:
    calendar = sub.add_parser("calendar", help="working-day calendar").add_subparsers(
        dest="calendar_command", required=True
    )
    imp = calendar.add_parser(
        "import-year", help="enter a year's holiday arrangement from a CSV or JSON file"
    )
    imp.add_argument("year", type=int)
    imp.add_argument(
        "file", help="CSV with columns date,kind,note (kind: holiday/workday or 放假/上班), or JSON"
    )
    imp.add_argument("--incomplete", action="store_true", help="do not mark the year complete")
    imp.add_argument("--note", default="", help="e.g. the notice's number")
    imp.set_defaults(func=_import_year)
    show = calendar.add_parser("show", help="list a year's holidays and working weekends with their source")
    show.add_argument("year", type=int)
    show.set_defaults(func=_show_year)
    sla = sub.add_parser("sla", help="deadlines and escalation").add_subparsers(
        dest="sla_command", required=True
    )
    sla.add_parser("run", help="run the SLA sweep and send due notifications once").set_defaults(
        func=_run_once
    )
