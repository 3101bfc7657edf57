"""The learned routing model: trains from labelled examples, predicts probabilities, round-trips JSON."""

from __future__ import annotations

import json

import pytest

from app.routing.learned import Model, train

EXAMPLES = [
    ("老板拖欠工资三个月了", "hrss"),
    ("工伤认定一直没有结果", "hrss"),
    ("社保断缴了怎么补缴", "hrss"),
    ("孩子入学需要什么材料", "edu"),
    ("学校乱收费，补课费太贵", "edu"),
    ("幼儿园学位不够", "edu"),
    ("饭店卖过期食品", "market"),
    ("超市缺斤短两", "market"),
    ("营业执照怎么注销", "market"),
]


def test_predicts_the_unit_of_similar_examples() -> None:
    model = train(EXAMPLES)
    ranked = model.predict("公司拖欠我的工资")
    assert ranked[0][0] == "hrss"
    assert sum(p for _, p in ranked) == pytest.approx(1.0)
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)


def test_limit_and_unknown_text() -> None:
    model = train(EXAMPLES)
    assert len(model.predict("学校补课", limit=2)) == 2
    assert model.predict("zzzz") == []


def test_json_round_trip_predicts_the_same() -> None:
    model = train(EXAMPLES)
    again = Model.from_json(json.loads(json.dumps(model.to_json())))
    assert again.units == model.units
    assert again.examples == {"edu": 3, "hrss": 3, "market": 3}
    for text in ["超市卖的东西过期了", "孩子转学"]:
        assert [u for u, _ in again.predict(text)] == [u for u, _ in model.predict(text)]
        assert again.predict(text)[0][1] == pytest.approx(model.predict(text)[0][1], abs=1e-3)


def test_other_formats_are_refused() -> None:
    with pytest.raises(ValueError):
        Model.from_json({"format": "pickle"})


def test_no_examples_gives_an_empty_model() -> None:
    model = train([])
    assert model.units == []
    assert model.predict("任何内容") == []


def test_single_unit_model() -> None:
    model = train([("学校收费", "edu"), ("入学材料", "edu")])
    assert model.predict("学校") == [("edu", 1.0)]


def test_batched_prediction_equals_one_prediction_each() -> None:
    from app.routing.learned import train

    model = train(
        [
            ("小区楼下的烧烤摊油烟太大", "market"),
            ("饭店后厨卫生太差，有老鼠", "market"),
            ("孩子转学手续怎么办", "edu"),
            ("开学了学费怎么交", "edu"),
            ("社保卡丢了怎么补办", "hrss"),
            ("公司拖欠工资三个月", "hrss"),
        ]
    )
    texts = ["饭店油烟太大", "学费交到哪里", "你好", "", "拖欠工资去哪里反映", "學校轉學"]
    assert model.predict_many(texts, limit=3) == [model.predict(t, limit=3) for t in texts]
    assert model.predict_many([]) == []
