"""The registry as the notices' forms: the 登记表 (one row per account, in the form's column order) and the
统计表 (accounts per unit and platform), both sheets of one XLSX workbook, written by the one spreadsheet
writer (`app.spreadsheet`: text stays text, never a formula)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from app.registry.models import PLATFORM_LABELS, RegistrationPublic
from app.spreadsheet import append_rows

FORM_TITLE = "政务新媒体账号登记表"
STATS_TITLE = "政务新媒体账号统计表"
FORM_HEADER = (
    "序号",
    "类型",
    "主体单位",
    "账号名称",
    "账号地址/ID",
    "负责人",
    "职务",
    "联系电话",
    "运维人员",
    "开设日期",
    "认证情况",
    "状态",
)
STATUS_LABELS = {"pending": "待审批", "active": "已备案", "closed": "已关停", "cancelled": "已注销"}


def form_rows(registrations: Sequence[RegistrationPublic], unit_names: dict[str, str]) -> list[list[object]]:
    """The 登记表's rows in the form's column order (phones as the caller may see them)."""
    return [
        [
            index,
            r.platform_label,
            unit_names.get(r.unit_code, r.unit_code),
            r.account_name,
            r.account_ref,
            r.person_in_charge,
            r.person_title,
            "、".join(r.phones),
            r.maintainer,
            r.opened_on.isoformat(),
            r.verification,
            STATUS_LABELS.get(r.status, r.status),
        ]
        for index, r in enumerate(registrations, start=1)
    ]


def stats_rows(
    registrations: Sequence[RegistrationPublic], unit_names: dict[str, str]
) -> tuple[list[str], list[list[object]]]:
    """The 统计表: live (pending or active) accounts per unit and platform, with totals."""
    live = [r for r in registrations if r.status in ("pending", "active")]
    platforms = [p for p in PLATFORM_LABELS if any(r.platform == p for r in live)]
    counts: Counter[tuple[str, str]] = Counter((r.unit_code, r.platform) for r in live)
    units = sorted({r.unit_code for r in live})
    header = ["单位", *(PLATFORM_LABELS[p] for p in platforms), "合计"]
    rows: list[list[object]] = []
    for code in units:
        cells = [counts[(code, p)] for p in platforms]
        rows.append([unit_names.get(code, code), *cells, sum(cells)])
    totals = [sum(counts[(code, p)] for code in units) for p in platforms]
    rows.append(["合计", *totals, sum(totals)])
    return header, rows


def to_xlsx(registrations: Sequence[RegistrationPublic], unit_names: dict[str, str]) -> bytes:
    book = Workbook()
    form = book.active
    assert form is not None
    form.title = "登记表"
    append_rows(form, [[FORM_TITLE], list(FORM_HEADER), *form_rows(registrations, unit_names)])
    stats = book.create_sheet("统计表")
    header, rows = stats_rows(registrations, unit_names)
    append_rows(stats, [[STATS_TITLE], header, *rows])
    for sheet, width in ((form, len(FORM_HEADER)), (stats, len(header))):
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        sheet["A1"].font = Font(bold=True, size=14)
        sheet["A1"].alignment = Alignment(horizontal="center")
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
