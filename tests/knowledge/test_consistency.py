"""The measures behind the 口径一致 warning."""

from __future__ import annotations

from app.knowledge.consistency import MIN_SIMILARITY, differing_figures, similarity

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
