"""KBIndex: ranking of citizen wording, confidence, explanations, units and edits."""

from __future__ import annotations

import pytest

from kb.index import KBEntry, KBIndex, Pool, Suggestion
from kb.normalise import normalise


def top(index: KBIndex, text: str, **kwargs: object) -> Suggestion:
    results = index.search(text, **kwargs)  # type: ignore[arg-type]
    assert results, text
    return results[0]


def test_standard_question_is_found_and_confident(index: KBIndex) -> None:
    best = top(index, "住房公积金怎么提取？")
    assert best.entry_id == 3
    assert best.confident
    assert 0 < best.score <= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("社會保障卡丟了，怎麼掛失補辦？", 2),  # Traditional characters
        ("ＨＰＶ疫苗怎么预约？", 9),  # full-width letters
        ("新生兒出生後怎麼報戶口", 4),
    ],
)
def test_traditional_and_full_width_input(index: KBIndex, text: str, expected: int) -> None:
    assert top(index, text).entry_id == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("社保卡丢了怎么补半", 2),  # 补办 → 补半
        ("失叶保险金怎么领", 7),  # 失业 → 失叶
        ("营业执照怎么注消", 8),  # 注销 → 注消
        ("gongjijin怎么提取", 3),  # typed in pinyin
        ("sfz到期了去哪换", 1),  # pinyin initials
    ],
)
def test_typos_homophones_and_pinyin(index: KBIndex, text: str, expected: int) -> None:
    assert top(index, text).entry_id == expected


def test_noisy_input(index: KBIndex) -> None:
    text = "@青禾发布 社保卡丢了😭😭 里面还有钱，怎么先冻结？？ http://t.cn/A6xYz9Qk #社保卡#"
    assert top(index, text).entry_id == 2


def test_long_story_with_the_question_buried_inside(index: KBIndex) -> None:
    text = (
        "我和老公都在外地打工，过年回老家的时候孩子出生了，现在一个多月大，家里老人说要赶紧去办手续，"
        "不然以后上学打疫苗都麻烦。我们也不太懂，想问一下给孩子上户口需要带哪些材料，出生证明和结婚证"
        "要不要原件，是去派出所还是去镇上办？谢谢政府。"
    )
    assert len(text) > 100
    assert top(index, text).entry_id == 4


@pytest.mark.parametrize(("text", "expected"), [("公积金提取", 3), ("低保申请", 10), ("医保缴费", 6)])
def test_four_character_queries(index: KBIndex, text: str, expected: int) -> None:
    assert top(index, text).entry_id == expected


@pytest.mark.parametrize("text", ["今天天气真不错，周末去公园散步", "哈哈哈哈哈", "小编辛苦了👍"])
def test_unrelated_text_is_never_confident(index: KBIndex, text: str) -> None:
    assert not any(s.confident for s in index.search(text))


def test_only_the_first_suggestion_can_be_confident_and_limit_holds(index: KBIndex) -> None:
    results = index.search("身份证到期换领", limit=3)
    assert len(results) == 3
    assert results[0].confident
    assert not any(s.confident for s in results[1:])
    assert [s.score for s in results] == sorted((s.score for s in results), reverse=True)


def test_explanation_names_the_matched_words_and_field(index: KBIndex) -> None:
    best = top(index, "住房公积金提取要多久")
    assert best.matched_field == "question"
    assert "住房公积金" in best.matched_terms
    assert "提取" in best.matched_terms


def test_explanation_shows_homophones_and_shorthand(index: KBIndex) -> None:
    assert "补半≈补办" in top(index, "社保卡丢了补半").matched_terms
    assert "sfz=身份证" in top(index, "sfz到期换领").matched_terms


def test_explanation_points_at_the_alternative_wording(index: KBIndex) -> None:
    best = top(index, "公积金的钱取出来")
    assert best.entry_id == 3
    assert best.matched_field == "alt"


def test_explanation_points_at_the_answer(index: KBIndex) -> None:
    best = top(index, "契税完税证明")
    assert best.entry_id == 5
    assert best.matched_field == "answer"
    assert "契税" in "".join(best.matched_terms)


def test_unit_code_lifts_that_units_entry() -> None:
    index = KBIndex()
    index.build(
        [
            KBEntry(1, "个人所得税怎么申报？", "在个人所得税APP填报。", (), "tax"),
            KBEntry(2, "个人所得税怎么申报？", "到办税服务厅填报。", (), "town"),
        ]
    )
    assert top(index, "个人所得税怎么申报").entry_id == 1  # a tie goes to the lower id
    assert top(index, "个人所得税怎么申报", unit_code="town").entry_id == 2
    only = index.search("个人所得税怎么申报", unit_code="town", only_unit=True)
    assert [s.entry_id for s in only] == [2]


def test_unknown_unit_changes_nothing(index: KBIndex) -> None:
    assert index.search("低保怎么申请", unit_code="nobody") == index.search("低保怎么申请")


def test_upsert_replaces_and_remove_forgets(entries: list[KBEntry]) -> None:
    index = KBIndex()
    index.build(entries)
    index.upsert(entry_id=10, question="最低生活保障金怎么领取？", answer="按月打卡发放。", unit_code="mzj")
    assert len(index) == len(entries)
    assert top(index, "最低生活保障金怎么领取").entry_id == 10
    index.remove(10)
    index.remove(999)  # unknown ids are ignored
    assert len(index) == len(entries) - 1
    assert all(s.entry_id != 10 for s in index.search("最低生活保障金怎么领取", limit=10))


QUERIES = [
    "身份证到期换领",
    "社保卡丢了补半",
    "公积金提取",
    "怎么上户口",
    "今天天气真不错",
    "sfz到期",
    "医保什么时候交",
    "契税完税证明",
]


def test_incremental_edits_rank_exactly_like_a_rebuild(entries: list[KBEntry]) -> None:
    grown = KBIndex()
    for e in reversed(entries):
        grown.upsert(
            entry_id=e.entry_id,
            question=e.question,
            answer=e.answer,
            alt_questions=e.alt_questions,
            unit_code=e.unit_code,
        )
    grown.search("热身")  # compile the intermediate state once
    grown.upsert(entry_id=99, question="养犬登记怎么办理？", answer="到派出所办理养犬登记。")
    grown.upsert(entry_id=3, question="公积金怎么提取？", answer="在线申请提取。", alt_questions=["取公积金"])
    grown.remove(8)
    grown.search("热身")
    grown.upsert(entry_id=8, question="营业执照怎么注销？", answer="网上申请简易注销。", unit_code="scj")

    final = [e for e in entries if e.entry_id not in (3, 8)] + [
        KBEntry(99, "养犬登记怎么办理？", "到派出所办理养犬登记。"),
        KBEntry(3, "公积金怎么提取？", "在线申请提取。", ("取公积金",)),
        KBEntry(8, "营业执照怎么注销？", "网上申请简易注销。", (), "scj"),
    ]
    fresh = KBIndex()
    fresh.build(final)
    assert len(grown) == len(fresh) == len(final)
    for q in QUERIES:
        assert grown.search(q, limit=10) == fresh.search(q, limit=10), q


def test_build_keeps_the_last_of_a_repeated_id() -> None:
    index = KBIndex()
    index.build([KBEntry(1, "旧问题宅基地", "旧"), KBEntry(1, "养犬登记怎么办理", "新")])
    assert len(index) == 1
    assert top(index, "养犬登记").entry_id == 1
    assert index.search("宅基地") == [] or not index.search("宅基地")[0].confident


def test_empty_index_and_empty_query() -> None:
    assert KBIndex().search("身份证") == []
    index = KBIndex()
    index.build([KBEntry(1, "身份证怎么办", "去派出所。")])
    assert index.search("   ") == []
    assert index.search("😂") == []
    assert index.search("身份证", limit=0) == []


TOPICS = ["身份证", "社保卡", "公积金", "营业执照", "户口", "医保", "低保", "宅基地", "驾驶证", "护照"]
ACTIONS = [
    "怎么办理",
    "丢了怎么补办",
    "到期怎么换",
    "在哪里查询",
    "需要什么材料",
    "多久能办好",
    "收费吗",
    "能网上办吗",
]
PLACES = ["县政务服务中心", "乡镇便民服务站", "派出所", "银行网点", "线上平台", "村委会", "人社窗口"]


def _many_entries() -> list[KBEntry]:
    """Enough entries (more than the candidate pool) that share words in every combination."""
    out = []
    for i, (topic, action) in enumerate((t, a) for t in TOPICS for a in ACTIONS):
        place = PLACES[i % len(PLACES)]
        out.append(
            KBEntry(
                i + 1,
                f"{topic}{action}？",
                f"请到{place}办理{topic}相关业务，带好本人证件。",
                (),
                f"u{i % 3}",
            )
        )
    return out


def test_candidate_pool_does_not_change_the_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    index = KBIndex()
    index.build(_many_entries())
    queries = ["社保卡丢了", "怎么办理", "护照多久能办好", "去派出所", "带好证件", "宅基地在哪查询收费吗"]
    approx = [index.search(q, limit=3) for q in queries]
    monkeypatch.setattr("kb.scoring.CANDIDATES", 10**9)
    exact = [index.search(q, limit=3) for q in queries]
    assert [[s.entry_id for s in r] for r in approx] == [[s.entry_id for s in r] for r in exact]


def test_only_unit_reaches_beyond_the_candidate_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kb.scoring.CANDIDATES", 2)  # the unit's entry ranks ninth overall
    entries = _many_entries()
    index = KBIndex()
    index.build([*entries, KBEntry(1000, "养犬登记", "到派出所办理。", (), "dog")])
    results = index.search("社保卡丢了怎么补办 在派出所办理", unit_code="dog", only_unit=True)
    assert [s.entry_id for s in results] == [1000]


def test_pinyin_explanation_never_matches_other_latin_text(index: KBIndex) -> None:
    best = top(index, "hpv疫苗预约")
    assert best.entry_id == 9
    assert all("≈" not in t for t in best.matched_terms)
    assert "gongjijin≈公积金" in top(index, "gongjijin提取").matched_terms


BATCH = [
    "社會保障卡丟了，怎麼掛失補辦？",
    "社保卡丢了怎么补半",
    "sfz到期了去哪换",
    "gongjijin提取",
    "公积金提取",
    "今天天气真不错，周末去公园散步",
    "😂",
    "",
    "护照多久能办好",
    "宅基地在哪查询收费吗",
    "去派出所",
    "带好证件",
    "我和老公都在外地打工，孩子出生了，想问一下给孩子上户口需要带哪些材料，是去派出所还是去镇上办？",
    "营业执照怎么注消",
    "怎么办理",
    "驾驶证到期怎么换",
    "低保申请",
    "医保缴费",
    "契税完税证明",
]


def test_search_many_gives_what_search_gives_for_each_text(entries: list[KBEntry]) -> None:
    index = KBIndex()
    index.build(
        [
            *entries,
            *(KBEntry(e.entry_id + 100, e.question, e.answer, (), e.unit_code) for e in _many_entries()),
        ]
    )
    units = [None, "u1", "gaj", None, "dog"] * 4
    for unit_codes in (None, units[: len(BATCH)]):
        many = index.search_many(BATCH, unit_codes=unit_codes, limit=4)
        single = [
            index.search(text, unit_code=unit_codes[i] if unit_codes else None, limit=4)
            for i, text in enumerate(BATCH)
        ]
        assert many == single
    assert any(many) and many[BATCH.index("😂")] == [] and many[BATCH.index("")] == []
    assert index.search_many(BATCH, only_unit=True, unit_codes=units[: len(BATCH)]) == [
        index.search(text, unit_code=units[i], only_unit=True) for i, text in enumerate(BATCH)
    ]


def test_search_many_edge_cases(index: KBIndex) -> None:
    assert index.search_many([]) == []
    assert index.search_many(["低保怎么申请"], limit=0) == [[]]
    assert KBIndex().search_many(["低保怎么申请", "医保"]) == [[], []]
    with pytest.raises(ValueError):
        index.search_many(["低保", "医保"], unit_codes=["mzj"])


def test_explanations_can_be_skipped_or_limited(index: KBIndex) -> None:
    full = index.search("社保卡丢了补半", limit=3)
    bare = index.search("社保卡丢了补半", limit=3, explain=False)
    some = index.search("社保卡丢了补半", limit=3, explain=1)
    assert [(s.entry_id, s.score, s.confident) for s in bare] == [
        (s.entry_id, s.score, s.confident) for s in full
    ]
    assert all(s.matched_terms == [] and s.matched_field == "" for s in bare)
    assert some[0] == full[0] and "补半≈补办" in some[0].matched_terms
    assert all(s.matched_terms == [] for s in some[1:])


def test_already_normalised_text_is_taken_as_is(index: KBIndex) -> None:
    text = "社會保障卡丟了，怎麼掛失補辦？"
    assert index.search(normalise(text), normalised=True) == index.search(text)
    assert index.search_many([normalise(text)], normalised=True) == [index.search(text)]


def test_explain_later_gives_the_evidence_search_gives(index: KBIndex) -> None:
    text = "社保卡丢了补半，sfz也要换吗"
    shown = index.search(text, limit=3)
    later = index.explain(text, [s.entry_id for s in shown] + [999])
    assert later == [(s.matched_terms, s.matched_field) for s in shown] + [([], "")]
    assert "补半≈补办" in later[0][0]


def test_rerank_of_a_pool_gives_what_a_search_for_the_unit_gives() -> None:
    index = KBIndex()
    index.build(_many_entries())
    queries = ["社保卡丢了", "怎么办理", "护照多久能办好", "去派出所", "带好证件", "宅基地在哪查询收费吗"]
    queries += ["办理要带什么", "身份证丢了怎么补办", "医保到期怎么换", "sfz", "今天天气不错"]
    pools: list[Pool | None] = []
    first = index.search_many(queries, limit=4, explain=3, pools=pools)
    assert len(pools) == len(queries) and all(p is not None for p in pools)
    changed = 0
    for query, pool, hits in zip(queries, pools, first, strict=True):
        assert pool is not None
        for unit in ("u0", "u1", "u2", "nobody"):
            again = index.rerank(pool, unit_code=unit, limit=3)
            assert again == index.search(query, unit_code=unit, limit=3), (query, unit)
            changed += [s.entry_id for s in again] != [s.entry_id for s in hits[:3]]
        assert index.rerank(pool, unit_code=None, limit=4, explain=3) == hits
    assert changed > 5  # the preference does reorder


def test_rerank_reuses_known_evidence_and_explains_the_rest() -> None:
    index = KBIndex()
    index.build(_many_entries())
    pools: list[Pool | None] = []
    hits = index.search_many(["社保卡丢了怎么补办"], limit=3, pools=pools)[0]
    assert pools[0] is not None
    known = {hits[0].entry_id: (["已知"], "alt")}
    again = index.rerank(pools[0], unit_code=None, limit=3, known=known)
    assert (again[0].matched_terms, again[0].matched_field) == (["已知"], "alt")
    assert [(s.matched_terms, s.matched_field) for s in again[1:]] == [
        (s.matched_terms, s.matched_field) for s in hits[1:]
    ]


def test_no_pool_for_an_empty_text_or_a_search_with_a_unit() -> None:
    index = KBIndex()
    index.build(_many_entries())
    pools: list[Pool | None] = [None]  # received pools are appended
    index.search_many(["", "社保卡", "社保卡"], unit_codes=[None, None, "u1"], pools=pools)
    assert [p is not None for p in pools] == [False, False, True, False]
    empty: list[Pool | None] = []
    KBIndex().search_many(["社保卡"], pools=empty)
    assert empty == [None]
