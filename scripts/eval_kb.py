"""KB suggestions evaluated through the HTTP API on the development set (data/dev_eval.json).

A fresh SQLite database, the application in-process (ASGI): the units are created with POST /units, the
50 Q&A entries imported with POST /kb/import (CSV), then each of the 180 queries is sent to POST /kb/suggest.
Prints top-1, top-3, MRR and the share of no-match queries answered `confident`, beside the plain
jieba + BM25 baseline over questions only (scripts/kb_baseline.py).

    python -m scripts.eval_kb [-v] [--distractors N]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.kb_baseline import BaselineBM25  # noqa: E402
from scripts.kb_eval_lib import (  # noqa: E402
    DATA,
    EvalEntry,
    distractors,
    evaluate,
    format_table,
    load_dev,
    with_ids,
)

TOKEN = "eval-admin-token"


@dataclass(frozen=True)
class ApiHit:
    entry_id: int
    confident: bool


class ApiSearcher:
    """`POST /kb/suggest` as a `kb_eval_lib.Searcher`; keeps the request latencies."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.latencies: list[float] = []

    def search(self, text: str, *, unit_code: str | None = None, limit: int = 5) -> list[ApiHit]:
        body: dict[str, Any] = {"text": text, "limit": limit}
        if unit_code:
            body["unit_code"] = unit_code
        start = time.perf_counter()
        resp = self.client.post("/api/v1/kb/suggest", json=body, headers=_auth())
        self.latencies.append(time.perf_counter() - start)
        resp.raise_for_status()
        return [ApiHit(s["entry_id"], s["confident"]) for s in resp.json()["suggestions"]]


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def _csv(entries: list[EvalEntry]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["问题", "答案", "单位"])
    writer.writerows([e.question, e.answer, e.unit_code] for e in entries)
    return buffer.getvalue().encode("utf-8")


def _load(client: Any, entries: list[EvalEntry]) -> dict[str, int]:
    """Creates the units and imports the entries; returns development key → entry id."""
    import json

    raw = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    units = {u["code"]: u for u in raw["units"]}
    for code in sorted({e.unit_code for e in entries}):
        unit = units.get(code, {"code": code, "name": code, "keywords": []})
        body = {"code": code, "name": unit["name"], "keywords": unit.get("keywords", [])}
        client.post("/api/v1/units", json=body, headers=_auth()).raise_for_status()
    from app.knowledge.service import question_key

    distinct = list({(e.unit_code, question_key(e.question)): e for e in reversed(entries)}.values())[::-1]
    resp = client.post("/api/v1/kb/import", files={"file": ("dev.csv", _csv(distinct))}, headers=_auth())
    resp.raise_for_status()
    report = resp.json()
    if report["rejected"]:
        raise SystemExit(f"import rejected rows: {report['rejected'][:5]}")
    ids: dict[tuple[str | None, str], int] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/kb/entries", params=params, headers=_auth()).json()
        ids.update({(e["unit_code"], e["question"]): e["id"] for e in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            break
    return {e.key: ids[(e.unit_code, e.question)] for e in entries if (e.unit_code, e.question) in ids}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", action="store_true", help="list the API's misses")
    parser.add_argument("--distractors", type=int, default=0, help="add N off-topic real entries")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="huiying-eval-kb-"))
    os.environ.update(
        {
            "HUIYING_DATABASE_URL": f"sqlite:///{tmp / 'eval.db'}",
            "HUIYING_ADMIN_TOKEN": TOKEN,
            "HUIYING_SECRET_KEY": "eval",
            "HUIYING_SCHEDULER": "off",
            "HUIYING_MAX_BODY_BYTES": str(50_000_000),
        }
    )
    from fastapi.testclient import TestClient

    from app.db import migrate
    from app.main import create_app

    migrate()
    entries, queries = load_dev()
    entries += distractors(args.distractors)
    with TestClient(create_app(start_scheduler=False)) as client:
        ids = _load(client, entries)
        api = ApiSearcher(client)
        through_api = evaluate(api, with_ids(queries, ids))
    baseline = evaluate(BaselineBM25(entries), queries)

    print(f"{len(entries)} entries, {len(queries)} queries, through POST /api/v1/kb/suggest")
    print(format_table({"huiying": through_api, "baseline": baseline}))
    print("huiying top1 by style: ", {k: round(v, 2) for k, v in through_api["top1_by_style"].items()})
    print("baseline top1 by style:", {k: round(v, 2) for k, v in baseline["top1_by_style"].items()})
    latencies = sorted(api.latencies)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    print(f"in-process API latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    if args.v:
        for text, expect, got in through_api["misses"]:
            print(f"  miss expect={expect} got={got} {text}")


if __name__ == "__main__":
    main()
