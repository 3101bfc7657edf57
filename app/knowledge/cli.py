"""`huiying kb import FILE` and `huiying kb export FILE`: the Q&A base from and to CSV/XLSX on the
command line (as the system user; no upload size limit), the same layout as the API."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.auth import SYSTEM
from app.db import session_scope
from app.knowledge import importexport
from app.knowledge.models import EntryStatus


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        raise SystemExit(f"找不到文件：{path}")
    with session_scope() as session:
        report = importexport.import_entries(
            session=session,
            actor=SYSTEM,
            data=path.read_bytes(),
            filename=path.name,
            default_status=EntryStatus(args.status),
        )
    print(
        f"rows: {report.total}  created: {report.created}  updated: {report.updated}"
        f"  unchanged: {report.unchanged}  rejected: {len(report.rejected)}"
    )
    for row in report.rejected[:20]:
        print(f"  row {row.row}: {row.reason}")
    return 0


def _export(args: argparse.Namespace) -> int:
    path = Path(args.file)
    fmt = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    with session_scope() as session:
        body, _, _ = importexport.export_entries(session=session, principal=SYSTEM, fmt=fmt)
    path.write_bytes(body)
    print(f"written: {path} ({fmt})")
    return 0


def register(sub: Any) -> None:
    kb = sub.add_parser("kb", help="Q&A knowledge base: import and export").add_subparsers(
        dest="kb_command", required=True
    )
    imp = kb.add_parser("import", help="import a CSV/XLSX file (headers 问题/答案/相似问法/单位/…)")
    imp.add_argument("file")
    imp.add_argument(
        "--status", default="published", choices=["published", "draft"], help="status of rows without one"
    )
    imp.set_defaults(func=_import)
    exp = kb.add_parser("export", help="export every entry to FILE (.csv or .xlsx)")
    exp.add_argument("file")
    exp.set_defaults(func=_export)
