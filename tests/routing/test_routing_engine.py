"""Routing decisions: rules, keywords, department words, KB and model evidence, out of scope."""

from __future__ import annotations

from app.routing.engine import KB_UNIT_FLOOR, Router, RoutingRule, UnitSpec, kb_unit_evidence
from kb.classifier import train

UNITS = [
    UnitSpec("police", "青禾县公安局", ("派出所", "户口", "诈骗")),
    UnitSpec("hrss", "青禾县人社局", ("社保", "欠薪", "工伤")),
    UnitSpec("edu", "青禾县教育局", ("学校", "入学")),
    UnitSpec("market", "青禾县市场监管局", ("食品安全", "营业执照")),
    UnitSpec("hall", "青禾县政务服务中心", ("窗口", "排队")),
]


def router(**kwargs: object) -> Router:
    return Router(UNITS, **kwargs)  # type: ignore[arg-type]


def test_unit_keywords_route_with_a_chinese_reason() -> None:
    decision = router().decide("老板拖欠三个月工资，欠薪的事谁管？")
    assert decision.unit_code == "hrss"
    assert decision.confident and not decision.out_of_scope
    assert "欠薪" in decision.reason and "县人社局" in decision.reason
    assert 0 < decision.confidence <= 1


def test_department_words_route_before_any_keyword_is_entered() -> None:
    bare = [UnitSpec(u.code, u.name) for u in UNITS]
    decision = Router(bare).decide("昨晚有人聚众赌博，还有人吸毒，请派出所来查")
    assert decision.unit_code == "police"


def test_unit_name_is_evidence() -> None:
    assert router().decide("教育局到底管不管这件事").unit_code == "edu"


def test_traditional_text_is_normalised() -> None:
    assert router().decide("學校門口的入學登記排了好久").candidates[0][0] == "edu"


def test_nothing_known_is_not_confident() -> None:
    decision = router().decide("你好")
    assert decision.unit_code is None
    assert not decision.out_of_scope
    assert decision.confidence == 0.0
    assert "人工分派" in decision.reason


def test_rules_win_by_priority() -> None:
    rules = [
        RoutingRule(1, "keyword", "欠薪", "police", priority=1),
        RoutingRule(2, "regex", r"三个月.*工资", "edu", priority=5),
    ]
    decision = router(rules=rules).decide("老板拖欠三个月工资，欠薪")
    assert decision.unit_code == "edu"
    assert decision.rule_id == 2
    assert "规则#2" in decision.reason


def test_account_rule() -> None:
    rules = [RoutingRule("acc", "account", "42", "market", priority=0)]
    assert router(rules=rules).decide("你好", account_id=42).unit_code == "market"
    assert router(rules=rules).decide("你好", account_id=7).unit_code is None


def test_kb_units_are_evidence() -> None:
    decision = router().decide("这个怎么办理", kb_units=[("hall", 0.9)])
    assert decision.unit_code == "hall"
    assert "问答库" in decision.reason


def test_kb_evidence_is_the_unit_the_top_hits_agree_on() -> None:
    # Two close entries of one unit: no answer is confident, but the unit is.
    assert kb_unit_evidence([("hall", 0.30), ("hall", 0.28), ("edu", 0.12)]) == [("hall", 0.30)]
    # Close entries of two units: no evidence for either.
    assert kb_unit_evidence([("hall", 0.30), ("edu", 0.25)]) == []
    # A weak best match is no evidence; entries without a unit neither lend nor take away.
    assert kb_unit_evidence([("hall", KB_UNIT_FLOOR / 2)]) == []
    assert kb_unit_evidence([(None, 0.9), ("edu", 0.4)]) == [("edu", 0.4)]
    assert kb_unit_evidence([]) == []
    # Only the top hits count: a unit far down the list does not contest the first.
    assert kb_unit_evidence([("hall", 0.3), ("hall", 0.3), ("hall", 0.3), ("hall", 0.3), ("edu", 0.3)]) == [
        ("hall", 0.3)
    ]


def test_learned_model_is_evidence() -> None:
    model = train(
        [
            ("小区楼下的烧烤摊油烟太大", "market"),
            ("饭店后厨卫生太差", "market"),
            ("孩子转学手续怎么办", "edu"),
            ("开学了学费怎么交", "edu"),
        ]
    )
    decision = router(model=model).decide("这家饭店卫生太差了")
    assert decision.unit_code == "market"
    assert "模型" in decision.reason


def test_account_owner_breaks_a_tie() -> None:
    text = "社保和户口的事"
    assert router().decide(text, account_unit="police").candidates[0][0] == "police"
    assert router().decide(text, account_unit="hrss").candidates[0][0] == "hrss"


def test_out_of_scope_with_pointer() -> None:
    for text in [
        "邻居借钱不还，写了借条的",
        "那个顶流明星为什么还能上综艺节目？",
        "人民币汇率最近怎么一直跌",
    ]:
        decision = router().decide(text)
        assert decision.out_of_scope, text
        assert decision.unit_code is None
        assert decision.pointer and "建议" in decision.pointer


def test_other_places_are_out_of_scope_but_not_local_ones() -> None:
    text = "杭州西湖边的停车费太贵了"
    assert router().decide(text).out_of_scope
    assert not router(local_places=["杭州"]).decide(text).out_of_scope


def test_street_named_after_a_city_is_local() -> None:
    assert not router().decide("北京路的学校门口天天堵车").out_of_scope


def test_local_evidence_beats_a_passing_mention_of_the_nation() -> None:
    decision = router().decide("国家的社保政策我们这里怎么落实，社保卡在哪里办")
    assert not decision.out_of_scope
    assert decision.unit_code == "hrss"
