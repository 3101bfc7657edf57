"""Units: create, change and list the unit tree."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal, subtree, token_cache
from app.errors import Conflict, Invalid, NotFound
from app.identity import Role
from app.units.models import Unit, UnitCreate, UnitUpdate


def get_by_code(*, session: Session, code: str) -> Unit | None:
    """The unit with that code, or None."""
    return session.exec(select(Unit).where(Unit.code == code)).first()


def require(*, session: Session, code: str, principal: Principal | None = None) -> Unit:
    """The unit with that code, visible to `principal`, or a 404/422-style error."""
    unit = get_by_code(session=session, code=code)
    if unit is None or (principal is not None and not principal.sees_unit(code)):
        raise NotFound(f"单位 {code} 不存在")
    return unit


def _check_links(session: Session, code: str, parent_code: str | None, supervisor_code: str | None) -> None:
    for label, link in (("上级单位", parent_code), ("主管单位", supervisor_code)):
        if link is not None and link != code and get_by_code(session=session, code=link) is None:
            raise Invalid(f"{label} {link} 不存在")
    if parent_code == code:
        raise Invalid("单位不能是自己的上级")
    if parent_code is not None:
        rows = session.exec(select(Unit.code, Unit.parent_code)).all()
        if parent_code in subtree(((r[0], r[1]) for r in rows), code):
            raise Invalid("上级单位不能是本单位的下级（会形成环）")


def create(*, session: Session, actor: Principal, data: UnitCreate) -> Unit:
    """Creates a unit (admin only); 409 if the code is taken."""
    actor.require(Role.admin)
    if get_by_code(session=session, code=data.code):
        raise Conflict(f"单位代码 {data.code} 已存在")
    _check_links(session, data.code, data.parent_code, data.supervisor_code)
    now = clock.now()
    unit = Unit.model_validate(data, update={"created_at": now, "updated_at": now})
    session.add(unit)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="unit.create",
        entity_type="unit",
        entity_id=unit.code,
        unit_code=unit.code,
        after=unit.model_dump(mode="json"),
    )
    session.commit()
    token_cache.clear()
    return unit


def update(*, session: Session, actor: Principal, code: str, data: UnitUpdate) -> Unit:
    """Changes a unit's name, keywords, links or reply limit (admin only)."""
    actor.require(Role.admin)
    unit = require(session=session, code=code)
    before = unit.model_dump(mode="json")
    changes = data.model_dump(exclude_unset=True)
    _check_links(
        session,
        code,
        changes.get("parent_code", unit.parent_code),
        changes.get("supervisor_code", unit.supervisor_code),
    )
    for key, value in changes.items():
        setattr(unit, key, value)
    unit.updated_at = clock.now()
    session.add(unit)
    record(
        session=session,
        actor=actor,
        action="unit.update",
        entity_type="unit",
        entity_id=code,
        unit_code=code,
        before=before,
        after=unit.model_dump(mode="json"),
    )
    if before.get("reply_working_days") != unit.reply_working_days:
        record(
            session=session,
            actor=actor,
            action="unit.reply_limit",
            entity_type="unit",
            entity_id=code,
            unit_code=code,
            before={"reply_working_days": before.get("reply_working_days")},
            after={"reply_working_days": unit.reply_working_days},
            note=f"答复时限由{_limit_label(before.get('reply_working_days'))}改为{_limit_label(unit.reply_working_days)}",
        )
    session.commit()
    token_cache.clear()
    return unit


def _limit_label(days: int | None) -> str:
    return "系统默认" if days is None else f"{days}个工作日"


def list_units(*, session: Session, principal: Principal) -> list[Unit]:
    """Every unit the principal may see, ordered by code."""
    query = select(Unit).order_by(col(Unit.code))
    if principal.units is not None:
        query = query.where(col(Unit.code).in_(principal.units))
    return list(session.exec(query))
