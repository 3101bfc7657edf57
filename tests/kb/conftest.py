"""Shared fixtures for the KB engine tests: a small hand-written Q&A base."""

from __future__ import annotations

import pytest

from kb.index import KBEntry, KBIndex

ENTRIES = [
    KBEntry(
        1,
        "居民身份证到期了怎么换领？",
        "有效期满前三个月内，本人携带户口簿到户籍地派出所办理换领，现场拍照，工本费20元，约15个工作日取证。",
        (),
        "gaj",
    ),
    KBEntry(
        2,
        "社会保障卡丢了怎么挂失补办？",
        "先拨打合作银行客服电话或到人社窗口临时挂失，再带身份证到银行网点补卡，补卡后卡内余额自动转入新卡。",
        (),
        "rsj",
    ),
    KBEntry(
        3,
        "住房公积金怎么提取？",
        "购房、租房、退休等情形可申请提取，带身份证和相关证明到公积金中心窗口或在线办理，一般3个工作日到账。",
        ("公积金的钱怎么取出来",),
        "gjj",
    ),
    KBEntry(
        4,
        "新生儿怎么上户口？",
        "婴儿出生一个月内，父母携带出生医学证明、户口簿、结婚证到户籍派出所申报出生登记，当场办结。",
        (),
        "gaj",
    ),
    KBEntry(
        5,
        "新买的商品房怎么办理不动产权证书？",
        "开发企业完成首次登记后，购房人带身份证、购房合同和契税完税证明到不动产登记中心办理转移登记。",
        (),
        "zrj",
    ),
    KBEntry(
        6,
        "城乡居民医保每年什么时候缴费？",
        "每年9月至12月集中缴纳下一年度费用，可通过税务APP、微信或银行网点缴纳，个人缴费标准以当年公布为准。",
        (),
        "ybj",
    ),
    KBEntry(
        7,
        "失业保险金怎么申领？",
        "非本人意愿中断就业且缴费满一年的，办理失业登记后可在人社网上服务大厅申领，最长领取24个月。",
        (),
        "rsj",
    ),
    KBEntry(
        8,
        "营业执照怎么注销？",
        "先办理清税，再通过企业注销网上服务平台提交申请；个体工商户可简易注销，无需登报公告。",
        (),
        "scj",
    ),
    KBEntry(
        9,
        "怎么预约HPV疫苗接种？",
        "关注县疾控中心公众号，选择接种门诊和时间预约，接种时携带身份证和预约码，按约定时间到场。",
        (),
        "wjj",
    ),
    KBEntry(
        10,
        "低保怎么申请？",
        "向户籍所在地乡镇（街道）提出书面申请，如实提供家庭收入和财产情况，经审核公示后按月发放低保金。",
        (),
        "mzj",
    ),
]


@pytest.fixture(scope="session")
def entries() -> list[KBEntry]:
    return list(ENTRIES)


@pytest.fixture(scope="session")
def index(entries: list[KBEntry]) -> KBIndex:
    """Built once per session: tests must not modify it (build their own to edit)."""
    idx = KBIndex()
    idx.build(entries)
    return idx
