"""`huiying routing train`: retrain the learned router from the labelled examples in the database,
optionally importing a labelled CSV/XLSX file first (history exported from another system)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.auth import SYSTEM
from app.db import session_scope
from app.routing import training


def _train(args: argparse.Namespace) -> int:
    with session_scope() as session:
        if args.file:
            path = Path(args.file)
            if not path.exists():
                raise SystemExit(f"找不到文件：{path}")
            report = training.import_file(
                session=session,
                actor=SYSTEM,
                data=path.read_bytes(),
                filename=path.name,
                text_column=args.text_column,
                unit_column=args.unit_column,
            )
            print(
                f"imported: {report.imported}  duplicates: {report.duplicates}  rejected: {len(report.rejected)}"
            )
            for row in report.rejected[:10]:
                print(f"  row {row.row}: {row.reason}")
        info = training.info(training.train(session=session, actor=SYSTEM))
    print(f"model version {info.version}: {info.example_count} examples, {len(info.classes)} units")
    for unit, count in sorted(info.classes.items(), key=lambda item: -item[1]):
        print(f"  {unit}: {count}")
    return 0


def register(sub: Any) -> None:
    routing = sub.add_parser("routing", help="routing: learned model").add_subparsers(
        dest="routing_command", required=True
    )
    train = routing.add_parser("train", help="retrain the routing model from labelled examples")
    train.add_argument("--file", default=None, help="labelled CSV/XLSX to import first (header row)")
    train.add_argument(
        "--text-column", default="text", help='column with the text; join several with "+" (subject+content)'
    )
    train.add_argument("--unit-column", default="unit", help="column with the unit code or full name")
    train.set_defaults(func=_train)
