"""`huiying import messages FILE --account ID [--mapping JSON] [--kind comment]`: the upload endpoint's
import from the command line (12345 hotline and legacy board exports)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.auth import Principal
from app.channels.imports import import_messages, parse_mapping
from app.db import session_scope
from app.errors import HuiyingError
from app.messages.models import MessageKind
from app.users.models import Role


def _import_messages(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        return 2
    actor = Principal(user_id=None, name="import-cli", role=Role.admin, unit_code=None, units=None)
    try:
        with session_scope() as session:
            report = import_messages(
                session=session,
                actor=actor,
                account_id=args.account,
                data=path.read_bytes(),
                filename=path.name,
                kind=MessageKind(args.kind),
                mapping=parse_mapping(args.mapping),
            )
    except HuiyingError as exc:
        print(f"导入失败：{exc.message}", file=sys.stderr)
        return 1
    print(f"imported: {report.imported}")
    print(f"duplicates: {report.duplicates}")
    print(f"answered: {report.answered}")
    print(f"rejected: {len(report.rejected)}")
    for row in report.rejected:
        print(f"  第 {row.row} 行：{row.reason}")
    return 0


def register(sub: Any) -> None:
    """Adds `import messages` to the `huiying` parser."""
    group = sub.add_parser("import", help="import data files").add_subparsers(
        dest="import_command", required=True
    )
    messages = group.add_parser("messages", help="import a CSV/XLSX export of messages into an account")
    messages.add_argument("file", help="CSV (UTF-8/GB18030) or XLSX file")
    messages.add_argument("--account", type=int, required=True, help="account id")
    messages.add_argument(
        "--mapping",
        default=None,
        help='column mapping as JSON, e.g. \'{"content": "诉求内容", "posted_at": "登记时间"}\'',
    )
    messages.add_argument("--kind", default="comment", choices=["comment", "private", "mention"])
    messages.set_defaults(func=_import_messages)
