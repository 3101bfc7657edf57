"""Learning from people's decisions: transfers become examples, training changes predictions, labelled
files are imported once, the CLI trains too."""

from __future__ import annotations

from pathlib import Path

from app.cli import main
from tests.routing.conftest import County, drain

PREVIEW = "/api/v1/routing/preview"
LIFT = ["电梯又坏了，困了人也没人修", "楼里电梯一直停运", "电梯维保公司不来检修", "电梯天天坏怎么办"]
NOISE = ["半夜广场舞音响太吵", "隔壁装修噪音扰民", "夜里施工噪音太大睡不着", "楼下酒吧噪音扰民严重"]


def test_training_from_transfers_changes_the_prediction(county: County) -> None:
    assert county.client.get("/api/v1/routing/model", headers=county.admin).status_code == 404
    assert county.client.post("/api/v1/routing/train", headers=county.admin).status_code == 422
    probe = {"text": "小区电梯又停了，物业说等配件"}
    assert county.client.post(PREVIEW, json=probe, headers=county.admin).json()["unit_code"] is None

    ids = {text: county.ingest(text) for text in LIFT + NOISE}
    drain()
    supervisor = county.people("supervisor")
    for text, message_id in ids.items():
        unit = "edu" if text in LIFT else "police"
        # Routed right already: the supervisor confirms it (an assignment); otherwise transfers it.
        action = "assign" if county.get(message_id)["unit_code"] == unit else "transfer"
        resp = county.client.post(
            f"/api/v1/messages/{message_id}/{action}",
            json={"unit_code": unit, "reason": "按职责转办"},
            headers=supervisor,
        )
        assert resp.status_code == 200, resp.text

    assert county.client.post("/api/v1/routing/train", headers=county.people("supervisor")).status_code == 403
    resp = county.client.post("/api/v1/routing/train", headers=county.admin)
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["example_count"] == 8 and info["classes"] == {"edu": 4, "police": 4}
    assert sum(info["sources"].values()) == 8 and info["sources"]["transfer"] >= 4
    assert (
        county.client.get("/api/v1/routing/model", headers=county.admin).json()["version"] == info["version"]
    )

    body = county.client.post(PREVIEW, json=probe, headers=county.admin).json()
    assert body["unit_code"] == "edu"
    assert "历史分派模型" in body["reason"]
    noisy = county.client.post(PREVIEW, json={"text": "晚上噪音吵得人睡不着"}, headers=county.admin).json()
    assert noisy["unit_code"] == "police"
    # New messages are routed with the model too.
    message_id = county.ingest("小区电梯又停了，物业说等配件")
    drain()
    assert county.get(message_id)["unit_code"] == "edu"


def test_labelled_file_import_and_examples_api(county: County) -> None:
    csv_text = "subject,content,unit\n电梯故障,电梯又坏了没人修,青禾县教育局\n噪音,夜里施工太吵,police\n无单位,随便写写,水务局\n空白,,edu\n"
    files = {"file": ("history.csv", csv_text.encode("utf-8"), "text/csv")}
    form = {"text_column": "subject+content", "unit_column": "unit"}
    resp = county.client.post("/api/v1/routing/examples/import", files=files, data=form, headers=county.admin)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["imported"] == 3 and report["duplicates"] == 0
    assert [r["row"] for r in report["rejected"]] == [4]
    again = county.client.post(
        "/api/v1/routing/examples/import", files=files, data=form, headers=county.admin
    )
    assert again.json()["imported"] == 0 and again.json()["duplicates"] == 3

    missing = county.client.post(
        "/api/v1/routing/examples/import",
        files=files,
        data={"text_column": "正文", "unit_column": "unit"},
        headers=county.admin,
    )
    assert missing.status_code == 400 and "正文" in missing.json()["error"]["message"]
    added = county.client.post(
        "/api/v1/routing/examples",
        json=[{"text": "联系我13907351286，电梯坏了", "unit_code": "edu"}],
        headers=county.admin,
    )
    assert added.status_code == 200 and added.json()["imported"] == 1
    operator = county.people("operator", "edu")
    assert county.client.post("/api/v1/routing/examples", json=[], headers=operator).status_code == 403
    info = county.client.post("/api/v1/routing/train", headers=county.admin).json()
    assert info["sources"] == {"import": 4} and info["classes"] == {"edu": 3, "police": 1}


def test_cli_trains_from_a_file(county: County, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "labelled.csv"
    rows = [f"{t},edu" for t in LIFT] + [f"{t},police" for t in NOISE]
    path.write_text("text,unit\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["routing", "train", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "imported: 8" in out and "model version 1: 8 examples, 2 units" in out
    body = county.client.post(PREVIEW, json={"text": "电梯停运好几天了"}, headers=county.admin).json()
    assert body["unit_code"] == "edu"
