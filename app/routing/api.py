"""HTTP routes for routing: preview, rules, settings, learning, and a message's transfers and assignment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from app.deps import CurrentUser, SessionDep
from app.routing import service, training, transfers
from app.routing.models import (
    AssignCreate,
    ExampleCreate,
    ImportReport,
    MessageRouting,
    ModelInfo,
    PreviewRequest,
    PreviewResult,
    RoutingSettings,
    RuleCreate,
    RulePublic,
    RuleUpdate,
    TransferCreate,
    TransferPublic,
    TransferResult,
)

TAG = "分办"
router = APIRouter(prefix="/routing", tags=[TAG])
messages_router = APIRouter(prefix="/messages", tags=[TAG])


@router.post("/preview", response_model=PreviewResult, summary="预览分办结果")
def preview(data: PreviewRequest, session: SessionDep, user: CurrentUser) -> PreviewResult:
    """按当前规则、单位关键词、问答库和历史分派模型判断一段文字应由哪个单位办理，给出置信度和理由；
    不属于本级政府职责的给出 `out_of_scope` 和建议告知的去处。只做判断，不改变任何数据。"""
    return service.preview(session=session, actor=user, data=data)


# --- rules -------------------------------------------------------------------------------------------


@router.get("/rules", response_model=list[RulePublic], summary="分派规则列表")
def list_rules(session: SessionDep, user: CurrentUser) -> object:
    """全部分派规则，优先级高的在前（管理员、督办、审计可查看）。"""
    return service.list_rules(session=session, actor=user)


@router.post("/rules", response_model=RulePublic, status_code=status.HTTP_201_CREATED, summary="新建分派规则")
def create_rule(data: RuleCreate, session: SessionDep, user: CurrentUser) -> object:
    """新建一条规则（仅管理员）：`keyword` 留言含该词、`regex` 正则表达式匹配、`account` 来自该账号ID，
    即交 `unit_code` 办理。多条命中时 `priority` 高者生效。规则优先于其他依据，立即生效。"""
    return service.create_rule(session=session, actor=user, data=data)


@router.patch("/rules/{rule_id}", response_model=RulePublic, summary="修改分派规则")
def update_rule(rule_id: int, data: RuleUpdate, session: SessionDep, user: CurrentUser) -> object:
    """修改规则的内容、单位、优先级，或用 `active: false` 暂停（仅管理员）。"""
    return service.update_rule(session=session, actor=user, rule_id=rule_id, data=data)


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="删除分派规则")
def delete_rule(rule_id: int, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_rule(session=session, actor=user, rule_id=rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- settings ----------------------------------------------------------------------------------------


@router.get("/settings", response_model=RoutingSettings, summary="分办设置")
def get_settings(session: SessionDep, user: CurrentUser) -> RoutingSettings:
    """没有把握时交给谁（来源账号的主办单位或分办席）、本地地名、置信度阈值。"""
    user.require(*service.READ_ROLES)
    return service.load_settings(session=session)


@router.put("/settings", response_model=RoutingSettings, summary="修改分办设置")
def put_settings(data: RoutingSettings, session: SessionDep, user: CurrentUser) -> RoutingSettings:
    """仅管理员。`local_places` 填本地的县、乡镇、街道等地名，留言提到它们不会被当作“外地事项”。"""
    return service.put_settings(session=session, actor=user, data=data)


# --- learning ----------------------------------------------------------------------------------------


@router.post("/examples", response_model=ImportReport, summary="添加标注样本")
def add_examples(items: list[ExampleCreate], session: SessionDep, user: CurrentUser) -> ImportReport:
    """添加（留言文字，办理单位）样本供训练（仅管理员）；单位可填代码或全称。相同样本只保存一次。
    转办和分派的留言会自动成为样本，无需在此添加。"""
    return training.add_examples(session=session, actor=user, items=items)


@router.post("/examples/import", response_model=ImportReport, summary="导入标注文件（CSV/XLSX）")
def import_examples(
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GB18030）或 XLSX，第一行为表头")],
    text_column: Annotated[str, Form(description="文字所在列；多列用 + 连接，如 subject+content")] = "text",
    unit_column: Annotated[str, Form(description="单位所在列（单位代码或全称）")] = "unit",
) -> ImportReport:
    """导入历史分派记录作为标注样本（仅管理员），返回导入数、重复数和被拒绝的行及原因。"""
    return training.import_file(
        session=session,
        actor=user,
        data=file.file.read(),
        filename=file.filename or "upload.csv",
        text_column=text_column,
        unit_column=unit_column,
    )


@router.post("/train", response_model=ModelInfo, summary="重新训练分派模型")
def train(session: SessionDep, user: CurrentUser) -> ModelInfo:
    """用全部标注样本（转办、分派和导入的）重新训练历史分派模型，保存为新版本并立即生效（仅管理员）。"""
    return training.info(training.train(session=session, actor=user))


@router.get("/model", response_model=ModelInfo, summary="当前分派模型")
def model(session: SessionDep, user: CurrentUser) -> ModelInfo:
    """当前使用的模型：版本、训练时间、样本数、各单位样本数；尚未训练时返回 404。"""
    return training.model_info(session=session, actor=user)


# --- a message's unit --------------------------------------------------------------------------------


@messages_router.post("/{message_id}/transfer", response_model=TransferResult, summary="转办")
def transfer(message_id: int, data: TransferCreate, session: SessionDep, user: CurrentUser) -> TransferResult:
    """把留言转给另一个单位办理，须写明理由。答复时限不重新计算（原时限不变），转办次数加一并留痕。
    本单位的经办人、领导，以及督办人员、管理员可以转办。"""
    return transfers.transfer(session=session, actor=user, message_id=message_id, data=data)


@messages_router.post("/{message_id}/assign", response_model=TransferResult, summary="人工分派")
def assign(message_id: int, data: AssignCreate, session: SessionDep, user: CurrentUser) -> TransferResult:
    """督办人员或分办席指定办理单位（不计入转办次数）。对被疑为“非本级职责”的留言进行分派，
    即确认其属于本级职责：取消该标记，并按收到时间重新计算答复时限。"""
    return transfers.assign(session=session, actor=user, message_id=message_id, data=data)


@messages_router.get("/{message_id}/routing", response_model=MessageRouting, summary="分办依据")
def message_routing(message_id: int, session: SessionDep, user: CurrentUser) -> MessageRouting:
    """留言的分办记录：建议单位、置信度、理由、候选单位，以及疑似不属于本级职责时建议告知的去处（`pointer`）。"""
    return transfers.routing_of(session=session, actor=user, message_id=message_id)


@messages_router.get("/{message_id}/transfers", response_model=list[TransferPublic], summary="转办记录")
def transfer_history(message_id: int, session: SessionDep, user: CurrentUser) -> list[TransferPublic]:
    """留言的转办与分派记录（从哪个单位到哪个单位、理由、经办人、时间），早的在前。"""
    return transfers.history(session=session, actor=user, message_id=message_id)
