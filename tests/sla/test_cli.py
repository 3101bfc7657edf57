"""`huiying calendar import-year` / `calendar show` / `sla run`."""

from __future__ import annotations

import json

from app.calendar.service import list_year
from app.cli import main
from app.db import session_scope


def test_import_a_years_arrangement_from_csv_and_show_it(tmp_path, capsys, client):
    path = tmp_path / "2027.csv"
    path.write_text(
        "date,kind,note\n2027-02-05,放假,春节\n2027-02-06,holiday,春节\n2027-01-31,上班,春节调休\n",
        encoding="utf-8",
    )
    assert main(["calendar", "import-year", "2027", str(path), "--note", "测试通知"]) == 0
    assert "2027: 3 天已录入，完整=True" in capsys.readouterr().out
    with session_scope() as session:
        year = list_year(session=session, year=2027)
    assert (year.complete, year.provisional) == (True, False)
    assert [(d.date.isoformat(), d.workday, d.source) for d in year.days] == [
        ("2027-01-31", True, "override"),
        ("2027-02-05", False, "override"),
        ("2027-02-06", False, "override"),
    ]
    assert main(["calendar", "show", "2027"]) == 0
    shown = capsys.readouterr().out
    assert "2027（已录入）" in shown and "2027-01-31 周日 调休上班" in shown

    as_json = tmp_path / "2028.json"
    as_json.write_text(json.dumps({"days": [{"date": "2028-01-03", "kind": "holiday"}]}), encoding="utf-8")
    assert main(["calendar", "import-year", "2028", str(as_json), "--incomplete"]) == 0
    with session_scope() as session:
        assert list_year(session=session, year=2028).complete is False


def test_sla_run_once(capsys, client):
    assert main(["sla", "run"]) == 0
    assert "检查 0 条" in capsys.readouterr().out
