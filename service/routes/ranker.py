"""The ranking model over HTTP (admin): status, training, rollback."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from matching.ranker_registry import RankerError
from matching.vocab import Role
from service.problems import Problem
from service.security import Principal, require_roles

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/ranker", tags=["排序模型"])
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
_training = threading.Lock()


def _engine(request: Request) -> Any:
    engine = request.app.state.engine
    if engine is None:
        raise Problem(503, "匹配引擎未就绪", "服务未加载匹配引擎，无法训练或切换排序模型")
    return engine


class TrainRequest(BaseModel):
    from_feedback: bool = Field(default=True, description="用记录的反馈训练")
    from_qrels: list[str] = Field(
        default_factory=list,
        description="服务器上的 BEIR 目录（corpus.jsonl、queries.jsonl、qrels/*.tsv）",
        max_length=5,
    )


class TrainAnswer(BaseModel):
    accepted: bool
    version: str | None
    holdout: dict[str, Any]
    training_data: dict[str, Any]
    reason: str


class RankerStatus(BaseModel):
    active: str | None
    ranker: str
    active_card: dict[str, Any] | None
    history: list[str]
    versions: list[dict[str, Any]]


@router.get("", summary="排序模型状态", response_model=RankerStatus)
def status(request: Request, _: AdminDep) -> Any:
    return _engine(request).rankers.status()


@router.post("/train", summary="训练新的排序模型（留出集胜出才启用）", response_model=TrainAnswer)
async def train(request: Request, body: TrainRequest, _: AdminDep) -> Any:
    from matching.ranker_sources import train_from_sources

    engine = _engine(request)
    folders = [Path(folder) for folder in body.from_qrels]
    for number, folder in enumerate(folders):
        if not folder.is_dir():
            raise Problem(
                422,
                detail=f"找不到 BEIR 目录：{folder}",
                errors=[{"field": f"from_qrels.{number}", "reason": "目录不存在"}],
            )
    if not body.from_feedback and not folders:
        raise Problem(422, detail="请指定训练数据：from_feedback 和/或 from_qrels")
    if not _training.acquire(blocking=False):
        raise Problem(409, detail="已有训练在进行中，请稍后再试")
    try:
        report = await run_in_threadpool(train_from_sources, engine, body.from_feedback, folders)
    except RankerError as error:
        raise Problem(422, "无法训练", str(error)) from None
    finally:
        _training.release()
    return report.to_dict()


@router.post("/rollback", summary="回滚到上一个启用的版本", response_model=RankerStatus)
def rollback(request: Request, _: AdminDep) -> Any:
    engine = _engine(request)
    try:
        engine.rankers.rollback()
    except RankerError as error:
        raise Problem(409, "无法回滚", str(error)) from None
    engine.reload_ranker()
    return engine.rankers.status()
