"""Topic terms need to name something: the stop-list keeps out words every complaint has ("门口"), and a
minimum specificity keeps out words of every text ("事情", "今天"), while a real story still surfaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.reports.topics import message_terms, specific, topic_stopwords

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)

UNRELATED_AT_THE_DOOR = [
    "学校门口早上车辆乱停，今天又堵了，这种事情没人管",
    "医院门口的井盖坏了，今天差点绊倒老人",
    "菜市场门口污水横流，事情反映多次",
    "小区门口快递堆放占道，今天下雨全湿了",
    "银行门口共享单车乱放，事情一直这样",
]


def test_terms_leave_out_common_places_and_unspecific_words():
    assert "门口" in topic_stopwords()
    assert not specific("事情") and not specific("今天")
    assert specific("油烟") and specific("魅力之城")  # a name the corpus lacks counts as specific
    terms = message_terms("学校门口早上车辆乱停，今天又堵了，这种事情没人管")
    assert "门口" not in terms and "今天" not in terms and "事情" not in terms
    assert "学校" in terms


def test_a_day_of_unrelated_door_complaints_is_no_hot_topic(
    client, admin_headers, make_unit, make_account, add_message, frozen_clock
):
    frozen_clock.set(NOW)
    make_unit("a", "甲局")
    account = make_account("a")
    for day in range(1, 8):
        add_message(account, NOW - timedelta(days=day, hours=2), content="路灯不亮，晚上出行不便")
    for hour, text in enumerate(UNRELATED_AT_THE_DOOR, start=1):
        add_message(account, NOW - timedelta(hours=hour), content=text)
    for hour in range(6, 9):
        add_message(account, NOW - timedelta(hours=hour), content="魅力之城小区油烟扰民")
    body = client.get(
        "/api/v1/reports/topics", params={"at": NOW.isoformat(), "window_hours": 24}, headers=admin_headers
    ).json()
    hot = {t["term"] for t in body["terms"]}
    assert "门口" not in hot and "今天" not in hot and "事情" not in hot
    assert {"油烟", "扰民"} <= hot
