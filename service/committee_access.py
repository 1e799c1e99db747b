"""Who may do what in the committee routes, and the committee library's refusals as problem
documents.

- admin, staff and organisers run rounds: create, fill, assign, follow progress, read results
  and exports, print and import paper forms;
- an expert reaches only their own assignments and forms (403 for anything else);
- reopening a submitted form is for admins only;
- enterprise and university users have no access.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Path, Response
from sqlalchemy.exc import IntegrityError

from matching.committee import InvalidRoundInput, RoundStateError
from matching.committee_forms import NotAssigned
from matching.evaluation_form import InvalidFormTemplate, InvalidResponse
from matching.vocab import Role
from service.problems import Problem
from service.security import Principal, require_roles

__all__ = [
    "MAX_ID",
    "XLSX",
    "AdminDep",
    "ExpertDep",
    "ExpertId",
    "ItemId",
    "OrganiserDep",
    "ReaderDep",
    "RoundId",
    "committee_errors",
    "expert_id_of",
    "xlsx_response",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ID = 2_147_483_647

RoundId = Annotated[int, Path(ge=1, le=MAX_ID, description="评比批次 ID")]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="评审项目 ID（本批次内）")]
ExpertId = Annotated[int, Path(ge=1, le=MAX_ID, description="专家 ID")]

OrganiserDep = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER))]
ExpertDep = Annotated[Principal, Depends(require_roles(Role.EXPERT))]
# Organisers, and experts (who then see only their own round, forms or paper forms).
ReaderDep = Annotated[Principal, Depends(require_roles(Role.STAFF, Role.ORGANISER, Role.EXPERT))]
AdminDep = Annotated[Principal, Depends(require_roles())]


def expert_id_of(principal: Principal) -> int:
    """The caller's expert record; 403 for an account not bound to one."""
    if principal.expert_id is None:
        raise Problem(403, detail="当前账号未关联评审专家，不能填写评审表")
    return principal.expert_id


@contextmanager
def committee_errors() -> Iterator[None]:
    """Invalid input → 422 naming every field, a locked form or closed round → 409, an item
    not assigned to the expert → 403, a concurrent change → 409. Other library errors go to
    the app's handlers."""
    try:
        yield
    except (InvalidRoundInput, InvalidResponse, InvalidFormTemplate) as error:
        errors = [{"field": e.field, "reason": e.message} for e in error.errors]
        raise Problem(422, detail=str(error), errors=errors) from None
    except RoundStateError as error:
        raise Problem(409, detail=str(error)) from None
    except NotAssigned as error:
        raise Problem(403, detail=str(error)) from None
    except IntegrityError:
        # Two requests changed the same round at once; the later one is rolled back.
        raise Problem(409, detail="数据已被同时修改，请刷新后重试") from None


def xlsx_response(data: bytes, filename: str) -> Response:
    """An XLSX download named ``filename`` (UTF-8 name for Chinese, ASCII fallback)."""
    disposition = f"attachment; filename=\"download.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})
