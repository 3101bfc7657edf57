"""The learned routing model: trains from labelled examples, predicts probabilities, round-trips JSON."""

from __future__ import annotations

import json

import pytest

from kb.classifier import Model, train
from kb.normalise import normalise

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
    from kb.classifier import train

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


def test_grams_made_as_integer_keys_score_as_the_string_grams_do() -> None:
    """A batch makes its grams with `kb.grams` (numpy, all texts at once); training and one text make
    them with `char_ngrams`. Both must give the same vector of the same text, to the last bit."""
    import numpy as np

    from kb.classifier import _grams, _vector

    model = train([*EXAMPLES, ("ETC卡 abc123 办不了", "market"), ("醫保報銷", "hrss")])
    compiled = model._ready()
    texts = [
        "公司拖欠我的工资",
        "学校补课收费",
        "ETC卡办不了 abc",
        "醫保怎麼報銷",
        "",
        "！！！",
        "a",
        "社保 卡 卡",
    ]
    texts += [text * 3 for text, _ in EXAMPLES]
    vectors = model._vectors([normalise(text) for text in texts])
    for text, (ids, values) in zip(texts, vectors, strict=True):
        want_ids, want_values = _vector(_grams(text, None), compiled.vocab, compiled.idf)
        assert ids.tolist() == want_ids.tolist() and values.tolist() == want_values.tolist(), text
    batched = model.predict_many(texts, limit=2)
    for text, got in zip(texts, batched, strict=True):
        sims = compiled.centroids.dot(*_vector(_grams(text, None), compiled.vocab, compiled.idf))
        if not sims.any():
            assert got == []
            continue
        probs = np.exp(model.temperature * (sims - sims.max()))
        probs /= probs.sum()
        order = np.argsort(-probs, kind="stable")[:2]
        assert got == [(model.units[i], float(probs[i])) for i in order]
