"""Between "clearly not ours" and "clearly this unit's": a person confirms, the citizen gets no pointer."""

from __future__ import annotations

from app.routing.engine import Router, UnitSpec

TOURISM = UnitSpec("tour", "县文旅局", ("景区", "旅游"))


def test_weak_unit_evidence_against_other_place_evidence_asks_a_person() -> None:
    decision = Router([TOURISM]).decide("我在杭州的景区被宰客了")
    assert decision.unit_code is None and decision.out_of_scope is False
    assert "请人工确认" in decision.reason and "杭州" in decision.reason and "县文旅局" in decision.reason
    assert decision.candidates == (("tour", 0.8),)


def test_strong_unit_evidence_still_routes() -> None:
    decision = Router([TOURISM]).decide("我在杭州旅游时被景区商家宰客了")
    assert decision.unit_code == "tour" and decision.out_of_scope is False


def test_no_unit_evidence_is_out_of_scope() -> None:
    decision = Router([TOURISM]).decide("杭州的房价太高了，年轻人买不起")
    assert decision.out_of_scope is True and decision.unit_code is None
