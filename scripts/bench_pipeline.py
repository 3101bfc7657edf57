"""Pipeline throughput: moderation + routing + KB suggestion on 100-character messages, 10,000-entry KB.

(a) engines in-process: per message normalise once, `check`, `KBIndex.search`, `Router.decide`;
(b) the real `Pipeline` draining N stored messages from a fresh database with the production steps
    (a stand-in KB step is put before routing when no knowledge step is registered yet), after one
    warm-up batch of WARM_UP more (building the router, the lexicons and the statement cache).
Prints messages/s per core (messages / CPU seconds of this single-threaded process) and wall time;
(b) runs --rounds rounds on new messages each and prints the best, median and worst round.
The design budget is ≥ 1,000 messages/s per core.

Usage: python scripts/bench_pipeline.py [--entries 10000] [--messages 5000] [--stored 2000] [--rounds 3]
       [--database-url sqlite:///…|postgresql://…] [--seed 7] [--model]
(--model: (b) with a routing model trained on the dev routing items, as after `huiying routing train`.)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))

LENGTH = 100
WARM_UP = 100  # messages of (b) processed before the clock starts
KB_CONFIDENT = 0.15  # kb.index's confident score: below it a KB hit is no routing evidence


def _load() -> tuple[dict[str, Any], list[dict[str, str]]]:
    dev = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    with (DATA / "wenzheng-2020" / "messages_labeled.csv").open(encoding="utf-8", newline="") as f:
        board = list(csv.DictReader(f))
    return dev, board


def kb_entries(n: int, dev: dict[str, Any], board: list[dict[str, str]], rng: random.Random) -> list[Any]:
    """`n` entries recombined from the dev KB questions/answers and the board's subjects, each owned by
    a dev unit, so that term statistics look like a real government Q&A base."""
    from kb.index import KBEntry

    questions = [k["question"] for k in dev["kb"]] + [r["subject"] for r in board]
    answers = [k["answer"] for k in dev["kb"]] + [r["content"] for r in board]
    units = [u["code"] for u in dev["units"]]
    entries = []
    for i in range(n):
        question = rng.choice(questions)
        if rng.random() < 0.6:
            question = question.rstrip("？?。") + "，" + rng.choice(questions)
        source = rng.choice(answers)
        size = rng.randint(60, 200)
        start = rng.randint(0, max(0, len(source) - size))
        entries.append(KBEntry(i + 1, question, source[start : start + size], (), rng.choice(units)))
    return entries


def messages(n: int, dev: dict[str, Any], board: list[dict[str, str]], rng: random.Random) -> list[str]:
    """`n` citizen-like texts of exactly LENGTH characters, cut from dev queries/routing and board posts."""
    pool = [q["text"] for q in dev["queries"]] + [r["text"] for r in dev["routing"]]
    pool += [r["subject"] + "。" + r["content"] for r in board]
    out = []
    for _ in range(n):
        text = ""
        while len(text) < LENGTH:
            text += rng.choice(pool)
        start = rng.randint(0, len(text) - LENGTH)
        out.append(text[start : start + LENGTH])
    return out


def router_for(dev: dict[str, Any]) -> Any:
    """The dev units' router with a model learned from the dev routing items (the costlier set-up)."""
    from app.routing.engine import Router, UnitSpec
    from kb.classifier import train

    units = [UnitSpec(u["code"], u["name"], tuple(u["keywords"])) for u in dev["units"]]
    model = train((r["text"], r["expect_unit"]) for r in dev["routing"] if r["expect_unit"])
    return Router(units, model=model)


def kb_units(hits: list[Any], owner: dict[int, str | None]) -> list[tuple[str, float]]:
    from app.routing.engine import kb_unit_evidence

    return kb_unit_evidence((owner.get(h.entry_id), h.score) for h in hits)


def _rate(n: int, cpu: float, wall: float) -> str:
    return f"{n / cpu:8.0f} msg/s per core (cpu {cpu:.2f} s, wall {wall:.2f} s, {n} messages)"


def bench_engines(texts: list[str], index: Any, router: Any, owner: dict[int, str | None]) -> None:
    from app.moderation.check import check
    from app.moderation.lexicon import default_lexicon
    from kb.normalise import normalise

    lexicon = default_lexicon()
    stages: dict[str, float] = {"normalise": 0.0, "moderation": 0.0, "kb search": 0.0, "routing": 0.0}
    for text in texts[:50]:  # warm caches with texts that are measured again below
        plain = normalise(text)
        router.decide(text, normalised=plain, kb_units=kb_units(index.search(text), owner))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for text in texts:
        t0 = time.thread_time()
        plain = normalise(text)
        t1 = time.thread_time()
        check(text, lexicons=lexicon, normalised=plain)
        t2 = time.thread_time()
        hits = index.search(text, limit=5)
        t3 = time.thread_time()
        router.decide(text, normalised=plain, kb_units=kb_units(hits, owner))
        t4 = time.thread_time()
        for name, spent in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[name] += spent
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"(a) engines in-process       {_rate(len(texts), cpu, wall)}")
    for name, spent in stages.items():
        print(f"      {name:<11} {spent / len(texts) * 1e6:8.1f} µs/message (cpu)")
    without_kb = cpu * (1 - stages["kb search"] / sum(stages.values()))
    print(
        f"    without the KB search    {len(texts) / without_kb:8.0f} msg/s per core (estimated from the stages)"
    )


def _store_kb(entries: list[Any]) -> None:
    """The same entries as published KB entries in the database, and the process index loaded from them
    (as a running service has it), so that the pipeline's own knowledge steps search 10k entries."""
    from app import clock
    from app.auth import SYSTEM
    from app.db import session_scope
    from app.knowledge import service
    from app.knowledge.index import knowledge_index

    now = clock.now()
    seen: set[tuple[str | None, str]] = set()
    with session_scope() as session:
        for e in entries:
            key = (e.unit_code, service.question_key(e.question))
            if key in seen:
                continue
            seen.add(key)
            fields = service.validated(
                {
                    "question": e.question[:500],
                    "answer": e.answer[:5000] or "见相关规定。",
                    "unit_code": e.unit_code,
                }
            )
            service.save(
                session=session, actor=SYSTEM, entry=None, fields=fields, status=None, note=None, now=now
            )
        service.commit(session=session, now=now)
    t = time.perf_counter()
    with session_scope() as session:
        knowledge_index.sync(session=session, now=now)
    print(
        f"    KB stored in the database: {len(seen)} entries, index loaded in {time.perf_counter() - t:.1f} s"
    )


def _store_model(dev: dict[str, Any]) -> None:
    """A routing model learned from the dev routing items, stored as `huiying routing train` stores one."""
    from app import clock
    from app.db import session_scope
    from app.routing.models import RoutingModelRow
    from app.routing.service import bump_version
    from kb.classifier import train

    model = train((r["text"], r["expect_unit"]) for r in dev["routing"] if r["expect_unit"])
    now = clock.now()
    with session_scope() as session:
        session.add(
            RoutingModelRow(
                trained_at=now,
                trained_by="bench",
                example_count=sum(model.examples.values()),
                classes=model.examples,
                sources={"import": sum(model.examples.values())},
                data=model.to_json(),
            )
        )
        bump_version(session=session, now=now)
    print(f"    routing model stored: {len(model.units)} units, {sum(model.examples.values())} examples")


def bench_pipeline(
    texts: list[str],
    index: Any,
    owner: dict[int, str | None],
    dev: dict[str, Any],
    url: str | None,
    entries: list[Any],
    with_model: bool = False,
    rounds: int = 1,
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="huiying-bench-"))
    from scripts.scratch_db import scratch_database

    scratch = scratch_database(url) if url and url.startswith("postgresql") else None
    os.environ["HUIYING_DATABASE_URL"] = scratch[0] if scratch else url or f"sqlite:///{tmp / 'bench.db'}"
    os.environ.setdefault("HUIYING_SECRET_KEY", "bench-secret")
    os.environ["HUIYING_SCHEDULER"] = "off"
    from app.accounts import service as accounts
    from app.accounts.models import AccountCreate, Platform
    from app.auth import SYSTEM
    from app.config import get_settings
    from app.db import get_engine, make_engine, migrate, session_scope, set_engine
    from app.intake.context import PipelineContext
    from app.intake.pipeline import Pipeline
    from app.intake.steps import default_steps
    from app.messages import service as messages
    from app.messages.models import Author, MessageCreate
    from app.ops.runtime import tune_gc
    from app.units import service as units
    from app.units.models import UnitCreate

    tune_gc()  # as the service does at start (app.main)
    get_settings.cache_clear()
    set_engine(make_engine(get_settings()))
    migrate(get_engine())
    with session_scope() as session:
        units.create(session=session, actor=SYSTEM, data=UnitCreate(code="zfb", name="县政府办公室"))
        for u in dev["units"]:
            data = UnitCreate(code=u["code"], name=u["name"], keywords=u["keywords"], supervisor_code="zfb")
            units.create(session=session, actor=SYSTEM, data=data)
        account = accounts.create(
            session=session,
            actor=SYSTEM,
            data=AccountCreate(
                platform=Platform.generic, name="留言板", external_id="bench", unit_code="zfb"
            ),
        )
        assert account.id is not None
        for i, text in enumerate(texts):
            messages.ingest(
                session=session,
                actor=SYSTEM,
                account=account,
                data=MessageCreate(
                    account_id=account.id, external_id=f"b{i}", content=text, author=Author(id=f"a{i % 97}")
                ),
            )

    _store_kb(entries)
    if with_model:
        _store_model(dev)
    steps = default_steps()
    names = [name for name, _ in steps]
    if not any("kb" in name or "knowledge" in name or "suggest" in name for name in names):

        def suggest(ctx: PipelineContext) -> None:
            # Stand-in for the knowledge domain's step: search, keep suggestions, leave routing evidence.
            hits = index.search(ctx.message.content, limit=3)
            ctx.message.suggestions = [{"entry_id": h.entry_id, "score": h.score} for h in hits]
            ctx.kb_units = kb_units(hits, owner)

        steps.insert(names.index("routing"), ("kb-suggest (stand-in)", suggest))
    print(f"    steps: {' → '.join(name for name, _ in steps)}")
    pipeline = Pipeline(steps)
    # Steady state, as in a running service: one batch first builds the router, the lexicons and the
    # statement cache; the messages measured are the others.
    warm = pipeline.run_once(limit=WARM_UP)
    per_round = (len(texts) - warm.done) // rounds
    rates: list[float] = []
    for number in range(1, rounds + 1):
        pipeline.step_seconds.clear()
        done = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while done < per_round:
            done += pipeline.run_once(limit=min(pipeline.settings.pipeline_batch_size, per_round - done)).done
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        rates.append(done / cpu)
        name = get_engine().dialect.name
        print(f"(b) Pipeline, {name}, round {number}   {_rate(done, cpu, wall)}")
        for step, spent in pipeline.step_seconds.items():
            print(f"      {step:<16} {spent / done * 1e6:8.1f} µs/message (wall)")
        steps_total = sum(pipeline.step_seconds.values())
        print(f"      {'(outside steps)':<16} {(wall - steps_total) / done * 1e6:8.1f} µs/message (wall)")
    ordered = sorted(rates)
    print(
        f"(b) over {rounds} rounds: best {ordered[-1]:.0f}, median {ordered[len(ordered) // 2]:.0f}, "
        f"worst {ordered[0]:.0f} msg/s per core"
    )
    if get_engine().dialect.name != "sqlite":
        print("    (the database server's own CPU is not counted in 'per core')")
    set_engine(None)
    if scratch:
        scratch[1]()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=10_000, help="KB entries")
    parser.add_argument("--messages", type=int, default=5_000, help="messages for (a)")
    parser.add_argument("--stored", type=int, default=2_000, help="messages drained per round of (b)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of (b), each on new messages: a shared machine's neighbours slow some rounds down",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="for (b): a PostgreSQL server (a scratch database is made on it and dropped); default: a fresh SQLite file",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--model", action="store_true", help="(b) with a trained routing model (as after `routing train`)"
    )
    args = parser.parse_args()

    from kb.index import KBIndex
    from kb.segment import warm_up

    rng = random.Random(args.seed)
    dev, board = _load()
    warm_up()
    entries = kb_entries(args.entries, dev, board, rng)
    index = KBIndex()
    t = time.perf_counter()
    index.build(entries)
    print(
        f"KB: {len(index)} entries built in {time.perf_counter() - t:.1f} s; messages of {LENGTH} characters"
    )
    owner = {e.entry_id: e.unit_code for e in entries}
    router = router_for(dev)
    bench_engines(messages(args.messages, dev, board, rng), index, router, owner)
    stored = messages(args.stored * args.rounds + WARM_UP, dev, board, rng)
    bench_pipeline(
        stored, index, owner, dev, args.database_url, entries, with_model=args.model, rounds=args.rounds
    )


if __name__ == "__main__":
    main()
