"""Out-of-scope evidence and unit-name handling."""

from __future__ import annotations

from app.routing.scope import OutOfScopeDetector, ScopeCategory, parse_categories
from app.routing.vocabulary import department_terms, name_terms

CATEGORIES = [
    ScopeCategory("外地", 1.0, "请向事发地反映。", ("北京", "上海")),
    ScopeCategory("民事纠纷", 1.5, "请协商或起诉。", ("借钱不还", "离婚")),
]


def test_assessment_scores_and_points() -> None:
    result = OutOfScopeDetector(CATEGORIES).assess("邻居借钱不还，人在北京")
    assert result.category == "民事纠纷"
    assert result.pointer == "请协商或起诉。"
    assert result.score == 2.5
    assert set(result.hits) == {("民事纠纷", "借钱不还"), ("外地", "北京")}


def test_local_places_and_street_names_do_not_count() -> None:
    detector = OutOfScopeDetector(CATEGORIES, local_places=["上海市"])
    assert detector.assess("上海的停车费").score == 0.0
    assert detector.assess("北京路的停车费").score == 0.0


def test_parse_categories() -> None:
    text = "# c\n## 外地 1.0 | 请向事发地反映。\n北京 上海\n天津\n## 其他\n明星\n"
    parsed = parse_categories(text)
    assert parsed[0] == ScopeCategory("外地", 1.0, "请向事发地反映。", ("北京", "上海", "天津"))
    assert parsed[1].weight == 1.0 and parsed[1].terms == ("明星",)


def test_name_terms_strip_place_and_level() -> None:
    assert name_terms("青禾县公安局") == ["青禾县公安局", "公安局", "公安"]
    assert name_terms("县市场监管局") == ["县市场监管局", "市场监管局", "市场监管"]
    assert name_terms("A市住房和城乡建设局")[1] == "住房和城乡建设局"


def test_department_words_by_name() -> None:
    police = dict(department_terms("青禾县公安局"))
    assert police["报警"] == 1.0
    assert "社保" not in police
    assert department_terms("城关镇人民政府") == []
    health = dict(department_terms("县卫生健康委"))
    assert health["医院"] == 0.5  # a setting word counts half
