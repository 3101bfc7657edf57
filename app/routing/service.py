"""Routing: the router in force (units, rules, learned model, settings; cached per process and rebuilt
when the database says something changed), the settings and rules behind it, and previews."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event, func
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col, select

from app import clock, versioning
from app.accounts import service as accounts
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.errors import Invalid, NotFound
from app.messages.models import Message
from app.routing.engine import Router, RoutingDecision, RoutingRule, UnitSpec
from app.routing.models import (
    Candidate,
    Fallback,
    PreviewRequest,
    PreviewResult,
    RoutingConfig,
    RoutingDefaults,
    RoutingModelRow,
    RoutingRuleRow,
    RoutingSettings,
    RoutingVersion,
    RuleCreate,
    RuleKind,
    RulePublic,
    RuleUpdate,
)
from app.units.models import Unit
from app.users.models import Role
from app.versioning import VersionedCache
from kb.classifier import Model
from kb.normalise import normalise

SINGLE_ROW = 1
OUT_OF_SCOPE = "out_of_scope"  # the flag of a message suspected to be outside this government's remit
READ_ROLES = (Role.admin, Role.supervisor, Role.auditor)
_PLACE_SEPARATORS = re.compile(r"[,，、;；\s]+")
_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff]")

# Hooks that give KB evidence for a text: (unit_code, score 0..1) of the confidently matching entries.
# `app.wiring.install` registers one at start-up (the KB search, `app.intake.steps.kb_units`); the intake
# routing step uses them when no earlier step left KB evidence, and the preview always does.
KbEvidence = Callable[[Session, str], Sequence[tuple[str, float]]]
kb_evidence: list[KbEvidence] = []


@dataclass(frozen=True)
class RoutingSetup:
    """The router in force, the settings it was built with, and the database state it reflects."""

    key: tuple[Any, ...] | None
    router: Router
    settings: RoutingSettings
    model_version: int | None


_cache: VersionedCache[tuple[Any, ...], RoutingSetup] = VersionedCache("routing.setup")


# ------------------------------------------------------------------------------------------- state


def _state_key(session: Session) -> tuple[Any, ...]:
    """What the router depends on: the version row ((0, "") before its first change) and the units."""
    version = versioning.read(RoutingVersion, session=session, row_id=SINGLE_ROW) or (0, "")
    # A unit changed by a process that does not load this module bumps no version: the units' count and
    # newest change tell it anyway. (Rules, settings and models are changed only through this module,
    # which bumps the version in the same transaction.)
    units = session.execute(select(func.count(col(Unit.id)), func.max(Unit.updated_at))).one()
    return (*version, int(units[0]), units[1])


def _bump_statement(dialect: str, now: datetime) -> Insert:
    return versioning.bump_statement(RoutingVersion, row_id=SINGLE_ROW, dialect=dialect, now=now)


def bump_version(*, session: Session, now: datetime) -> None:
    """Marks the routing set-up changed (in the caller's transaction) so that every process rebuilds."""
    session.execute(_bump_statement(session.get_bind().dialect.name, now))
    _cache.forget(session)


@event.listens_for(Unit, "after_insert")
@event.listens_for(Unit, "after_update")
def _unit_changed(_mapper: Any, connection: Connection, _unit: Unit) -> None:
    # Units are routing's main input; their changes bump the version in the same transaction.
    connection.execute(_bump_statement(connection.dialect.name, clock.now()))


def _defaults() -> RoutingSettings:
    env = RoutingDefaults()
    places = [p for p in _PLACE_SEPARATORS.split(env.local_places) if p]
    return RoutingSettings(
        fallback=env.fallback,
        dispatcher_unit_code=env.dispatcher_unit,
        local_places=places,
        threshold=env.threshold,
    )


def load_settings(*, session: Session) -> RoutingSettings:
    """The stored settings, else the environment defaults."""
    row = session.get(RoutingConfig, SINGLE_ROW)
    return RoutingSettings.model_validate(row.data) if row is not None else _defaults()


def _build(session: Session, key: tuple[Any, ...] | None) -> RoutingSetup:
    settings = load_settings(session=session)
    units = [
        UnitSpec(code=u.code, name=u.name, keywords=tuple(u.keywords or ()))
        for u in session.exec(select(Unit).order_by(col(Unit.code)))
    ]
    rules = [
        RoutingRule(id=r.id or 0, kind=r.kind, pattern=r.pattern, unit_code=r.unit_code, priority=r.priority)  # type: ignore[arg-type]
        for r in session.exec(select(RoutingRuleRow).where(col(RoutingRuleRow.active).is_(True)))
    ]
    row = session.exec(select(RoutingModelRow).order_by(col(RoutingModelRow.id).desc()).limit(1)).first()
    model = Model.from_json(row.data) if row is not None else None
    router = Router(
        units, rules, model=model, local_places=settings.local_places, threshold=settings.threshold
    )
    return RoutingSetup(key=key, router=router, settings=settings, model_version=row.id if row else None)


def current_setup(*, session: Session) -> RoutingSetup:
    """The router in force. Checked against the database once per session (a pipeline batch or a request
    pays two small queries) and rebuilt only when rules, settings, the model or the units changed."""
    return _cache.get(session, key=_state_key, build=_build)


def kb_units_for(*, session: Session, text: str) -> list[tuple[str, float]]:
    """KB evidence from the registered hooks (empty when the knowledge domain registered none)."""
    found: list[tuple[str, float]] = []
    for hook in kb_evidence:
        found.extend(hook(session, text))
    return found


# ------------------------------------------------------------------------------------------- settings


def fallback_unit(setup: RoutingSetup, account: Account) -> tuple[str, Fallback]:
    """Where a message goes when routing is not confident: the dispatcher queue if configured (and the
    unit exists), else the owner unit of the account it came in on."""
    dispatcher = setup.settings.dispatcher_unit_code
    if setup.settings.fallback == Fallback.dispatcher and dispatcher and dispatcher in setup.router.units:
        return dispatcher, Fallback.dispatcher
    return account.unit_code, Fallback.account


def apply_decision(
    *, message: Message, decision: RoutingDecision, setup: RoutingSetup, account: Account
) -> None:
    """Writes the verdict on the message: unit_code, routing{…}, out_of_scope and its flag (the fallback
    unit when the decision names none or suspects the message is out of scope)."""
    used: Fallback | None = None
    unit = decision.unit_code
    reason = decision.reason
    if unit is None or decision.out_of_scope:
        unit, used = fallback_unit(setup, account)
        name = setup.router.units[unit].name if unit in setup.router.units else unit
        where = "分办席" if used == Fallback.dispatcher else "来源账号的主办单位"
        then = "确认是否属于本级职责" if decision.out_of_scope else "人工分派"
        reason = f"{reason}；暂交{name}（{where}）{then}"
    routing: dict[str, Any] = {
        "unit_code": unit,
        "suggested_unit": decision.unit_code,
        "confidence": decision.confidence,
        "reason": reason,
        "candidates": [{"unit_code": u, "score": s} for u, s in decision.candidates],
        "out_of_scope": decision.out_of_scope,
        "pointer": decision.pointer,
        "rule_id": decision.rule_id,
        "fallback": used.value if used else None,
        "model_version": setup.model_version,
    }
    message.unit_code = unit
    message.routing = routing
    message.out_of_scope = decision.out_of_scope
    flags = [f for f in (message.flags or []) if f != OUT_OF_SCOPE]
    if decision.out_of_scope:
        flags.append(OUT_OF_SCOPE)
    message.flags = flags


def _require_unit(session: Session, code: str, label: str = "单位") -> None:
    if session.exec(select(Unit.id).where(Unit.code == code)).first() is None:
        raise Invalid(f"{label} {code} 不存在")


def put_settings(*, session: Session, actor: Principal, data: RoutingSettings) -> RoutingSettings:
    """Stores the routing settings (admin)."""
    actor.require(Role.admin)
    if data.dispatcher_unit_code:
        _require_unit(session, data.dispatcher_unit_code, "分办席单位")
    if data.fallback == Fallback.dispatcher and not data.dispatcher_unit_code:
        raise Invalid("fallback 为 dispatcher 时必须指定 dispatcher_unit_code")
    now = clock.now()
    before = load_settings(session=session)
    row = session.get(RoutingConfig, SINGLE_ROW)
    payload = data.model_dump(mode="json")
    if row is None:
        row = RoutingConfig(id=SINGLE_ROW, data=payload, updated_by=actor.name[:64], updated_at=now)
    else:
        row.data, row.updated_by, row.updated_at = payload, actor.name[:64], now
    session.add(row)
    bump_version(session=session, now=now)
    record(
        session=session,
        actor=actor,
        action="routing.settings",
        entity_type="routing_settings",
        entity_id=SINGLE_ROW,
        before=before.model_dump(mode="json"),
        after=payload,
        at=now,
    )
    session.commit()
    return data


# ------------------------------------------------------------------------------------------- rules


def _validate_rule(session: Session, kind: RuleKind, pattern: str, unit_code: str) -> str:
    """The pattern as stored; Invalid (422) for an unknown unit or an unusable pattern."""
    _require_unit(session, unit_code)
    pattern = pattern.strip()
    if kind == RuleKind.keyword and not _CONTENT.search(normalise(pattern)):
        raise Invalid("关键词须包含汉字、字母或数字")
    if kind == RuleKind.regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise Invalid(f"正则表达式有误：{exc}") from exc
    if kind == RuleKind.account and (not pattern.isdigit() or session.get(Account, int(pattern)) is None):
        raise Invalid(f"账号 {pattern} 不存在（account 规则的 pattern 填账号ID）")
    return pattern


def list_rules(*, session: Session, actor: Principal) -> list[RoutingRuleRow]:
    """Every rule, highest priority first."""
    actor.require(*READ_ROLES)
    return list(
        session.exec(
            select(RoutingRuleRow).order_by(col(RoutingRuleRow.priority).desc(), col(RoutingRuleRow.id))
        )
    )


def get_rule(*, session: Session, rule_id: int) -> RoutingRuleRow:
    rule = session.get(RoutingRuleRow, rule_id)
    if rule is None:
        raise NotFound(f"分派规则 {rule_id} 不存在")
    return rule


def _rule_json(rule: RoutingRuleRow) -> dict[str, Any]:
    """The rule as the API shows it, for the audit log (the stored `kind` text read back as the enum)."""
    return RulePublic.model_validate(rule).model_dump(mode="json")


def create_rule(*, session: Session, actor: Principal, data: RuleCreate) -> RoutingRuleRow:
    """Adds a rule (admin); in force at once in every process."""
    actor.require(Role.admin)
    pattern = _validate_rule(session, data.kind, data.pattern, data.unit_code)
    now = clock.now()
    rule = RoutingRuleRow(
        kind=data.kind,
        pattern=pattern,
        unit_code=data.unit_code,
        priority=data.priority,
        note=data.note,
        created_by=actor.name[:64],
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    bump_version(session=session, now=now)
    record(
        session=session,
        actor=actor,
        action="routing.rule.create",
        entity_type="routing_rule",
        entity_id=rule.id,
        unit_code=rule.unit_code,
        after=_rule_json(rule),
        at=now,
    )
    session.commit()
    return rule


def update_rule(*, session: Session, actor: Principal, rule_id: int, data: RuleUpdate) -> RoutingRuleRow:
    """Changes a rule (admin), e.g. its priority or `active`."""
    actor.require(Role.admin)
    rule = get_rule(session=session, rule_id=rule_id)
    before = _rule_json(rule)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    kind = RuleKind(changes.get("kind", rule.kind))
    changes["pattern"] = _validate_rule(
        session, kind, changes.get("pattern", rule.pattern), changes.get("unit_code", rule.unit_code)
    )
    changes["kind"] = kind
    now = clock.now()
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.updated_at = now
    session.add(rule)
    bump_version(session=session, now=now)
    record(
        session=session,
        actor=actor,
        action="routing.rule.update",
        entity_type="routing_rule",
        entity_id=rule_id,
        unit_code=rule.unit_code,
        before=before,
        after=_rule_json(rule),
        at=now,
    )
    session.commit()
    return rule


def delete_rule(*, session: Session, actor: Principal, rule_id: int) -> None:
    """Deletes a rule (admin)."""
    actor.require(Role.admin)
    rule = get_rule(session=session, rule_id=rule_id)
    before = _rule_json(rule)
    now = clock.now()
    session.delete(rule)
    bump_version(session=session, now=now)
    record(
        session=session,
        actor=actor,
        action="routing.rule.delete",
        entity_type="routing_rule",
        entity_id=rule_id,
        unit_code=before["unit_code"],
        before=before,
        at=now,
    )
    session.commit()


# ------------------------------------------------------------------------------------------- deciding


def decide(
    *,
    session: Session,
    text: str,
    account_unit: str | None = None,
    account_id: int | None = None,
    kb_units: Sequence[tuple[str, float]] | None = None,
    normalised: str | None = None,
) -> RoutingDecision:
    """The router's verdict for `text` (no fallback applied); KB evidence from the hooks if not given."""
    setup = current_setup(session=session)
    plain = normalised if normalised is not None else normalise(text)
    evidence = kb_units if kb_units is not None else kb_units_for(session=session, text=text)
    return setup.router.decide(
        text, account_unit=account_unit, account_id=account_id, kb_units=evidence, normalised=plain
    )


def preview(*, session: Session, actor: Principal, data: PreviewRequest) -> PreviewResult:
    """How a text would be routed, changing nothing; 404 for an account the caller cannot see."""
    account_unit: str | None = None
    if data.account_id is not None:
        account_unit = accounts.get(session=session, account_id=data.account_id, principal=actor).unit_code
    decision = decide(session=session, text=data.text, account_unit=account_unit, account_id=data.account_id)
    return PreviewResult(
        unit_code=decision.unit_code,
        confidence=decision.confidence,
        reason=decision.reason,
        out_of_scope=decision.out_of_scope,
        pointer=decision.pointer,
        candidates=[Candidate(unit_code=u, score=s) for u, s in decision.candidates],
        rule_id=int(decision.rule_id) if decision.rule_id is not None else None,
    )
