"""The shipped department vocabulary (`app/routing/data/departments.txt`): well-formed, and enough on its own
to route everyday messages of each kind of department to a county whose units have names but no keywords."""

from __future__ import annotations

import pytest

from app.routing.engine import Router, UnitSpec
from app.routing.vocabulary import default_departments

# A county on day one: unit names only, no keywords, no rules, no model.
BARE_UNITS = [
    UnitSpec("police", "青禾县公安局"),
    UnitSpec("hrss", "青禾县人力资源和社会保障局"),
    UnitSpec("medins", "青禾县医疗保障局"),
    UnitSpec("edu", "青禾县教育局"),
    UnitSpec("agri", "青禾县农业农村局"),
    UnitSpec("land", "青禾县自然资源局"),
    UnitSpec("health", "青禾县卫生健康委员会"),
    UnitSpec("housing", "青禾县住房和城乡建设局"),
    UnitSpec("market", "青禾县市场监督管理局"),
    UnitSpec("hall", "青禾县政务服务中心"),
    UnitSpec("env", "青禾县生态环境分局"),
    UnitSpec("transport", "青禾县交通运输局"),
    UnitSpec("city", "青禾县综合行政执法局"),
    UnitSpec("civil", "青禾县民政局"),
]


def test_every_section_is_well_formed() -> None:
    kinds = default_departments()
    assert len(kinds) >= 30
    for kind in kinds:
        assert kind.name_parts and len(kind.terms) >= 5, kind.name_parts
        for term in kind.terms:
            # A matter needs two characters to mean anything; a setting ("~店") counts half anyway.
            word = term.removeprefix("~")
            assert word and len(word) >= (1 if term.startswith("~") else 2), (kind.name_parts, term)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("小区门口有人开着套牌车到处转，晚上还有人醉酒闹事砸东西", "police"),
        ("孩子出生三个月了还没上户口，新生儿落户要带什么材料", "police"),
        ("公司一直不签劳动合同，现在要裁员也不给经济补偿，想申请劳动仲裁", "hrss"),
        ("城乡居民养老保险的缴费年限不够十五年，到了退休年龄还能补缴吗", "hrss"),
        ("有诊所诱导老人挂床住院，用别人的医保卡冒名就医", "medins"),
        ("我去外省看病要办跨省就医备案，门诊共济的钱能报吗", "medins"),
        ("孩子在学校被同学校园欺凌，班主任只说让家长自己协商", "edu"),
        ("民办幼儿园强制征订教辅资料，还收择校费", "edu"),
        ("村里的村级财务从来不公开，集体资金去了哪里没人知道", "agri"),
        ("镇上有人卖劣质种子，种下去不发芽，还有禁用农药", "agri"),
        ("山上的采石场开山采石，下雨后落石滚到路上，地灾隐患很大", "land"),
        ("二手房过户后一直办不了转移登记，拿不到不动产权证", "land"),
        ("卫生院的医生推诿病人，还让我们做了一堆重复检查", "health"),
        ("孩子的预防针在哪个接种点补种，要不要提前预约", "health"),
        ("楼盘工地的塔吊下面没人管，工人也不戴安全帽，偷工减料很严重", "housing"),
        ("物业乱收费，小区公共收益从来不公示，业委会也不管", "housing"),
        ("饭店的后厨有蟑螂，用地沟油，吃完全家食物中毒", "market"),
        ("健身房卖了会员卡就跑路了，退卡没人管", "market"),
        ("政务大厅只有一个综合窗口能办，老年人办事没有绿色通道", "hall"),
        ("旁边工厂半夜偷排偷放，河水发臭，还有刺激性气味", "env"),
        ("城乡公交的末班车太早，发车间隔一个小时，老年卡也刷不了", "transport"),
        ("街上流动商贩乱摆摊，建筑垃圾乱倒，井盖缺失也没人修", "city"),
        ("我家低保被取消了，村里评低保优亲厚友，关系保很多", "civil"),
    ],
)
def test_department_words_route_everyday_matters(text: str, unit: str) -> None:
    decision = Router(BARE_UNITS).decide(text)
    assert decision.unit_code == unit, (text, decision.candidates, decision.reason)
    assert not decision.out_of_scope
