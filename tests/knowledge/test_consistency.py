"""The measures behind the 口径一致 warning and the routed unit's preference in the pipeline."""

from __future__ import annotations

from app.knowledge.consistency import MIN_SIMILARITY, differing_figures, similarity
from app.knowledge.index import Hit
from app.knowledge.steps import boosted

ANSWER = "有效期满前三个月内，本人携带户口簿到户籍地派出所办理换领，现场拍照，工本费20元，约15个工作日取证。"


def test_similarity_tolerates_greetings_and_shortening() -> None:
    assert similarity(f"您好！{ANSWER}感谢您对我们工作的支持。", ANSWER) > 0.9
    assert similarity("您好，身份证有效期满前三个月内，本人携带户口簿到户籍地派出所办理换领。", ANSWER) > 0.8
    assert (
        similarity("請攜帶戶口簿到戶籍地派出所辦理換領", ANSWER) > MIN_SIMILARITY
    )  # Traditional is the same text


def test_similarity_is_low_for_other_answers() -> None:
    assert similarity("您好，您反映的问题已转相关部门处理，请耐心等待。", ANSWER) < MIN_SIMILARITY
    other = "先拨打合作银行客服电话或到人社窗口临时挂失，再带身份证到银行网点补卡。"
    assert similarity(other, ANSWER) < MIN_SIMILARITY
    assert similarity("", ANSWER) == 0.0


def test_figures_that_differ_are_named() -> None:
    assert differing_figures(ANSWER.replace("20元", "50元"), ANSWER) == [("50元", "20元")]
    assert differing_figures(ANSWER.replace("15个工作日", "10个工作日"), ANSWER) == [
        ("10个工作日", "15个工作日")
    ]
    assert differing_figures(ANSWER, ANSWER) == []
    # A figure of a kind the answer does not state is not a contradiction.
    assert differing_figures(ANSWER + "咨询电话办公时间为8小时。", ANSWER) == []


def _hit(entry_id: int, unit: str, score: float, *, top: bool = False, confident: bool = False) -> Hit:
    return Hit(entry_id, 1, f"q{entry_id}", f"a{entry_id}", unit, score, confident, (), "question", top)


def test_routed_unit_is_preferred_without_a_second_search_when_the_order_holds() -> None:
    hits = [_hit(1, "a", 0.30, top=True), _hit(2, "b", 0.16), _hit(3, "b", 0.10)]  # 0.30 < 2 × 0.16
    ranked, reordered = boosted(hits, "a")
    assert not reordered
    assert [h.entry_id for h in ranked] == [1, 2, 3]
    assert ranked[0].score == 0.33 and ranked[0].confident  # 0.33 >= 2 × 0.16 once boosted
    same, reordered = boosted(hits, None)
    assert same is hits and not reordered


def test_a_reordering_boost_asks_for_a_new_search() -> None:
    hits = [_hit(1, "a", 0.30, top=True), _hit(2, "b", 0.29), _hit(3, "b", 0.10)]
    ranked, reordered = boosted(hits, "b")
    assert reordered and [h.entry_id for h in ranked][:2] == [2, 1]
