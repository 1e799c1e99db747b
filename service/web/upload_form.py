"""Reading a page's upload form: its text fields (the CSRF token, the choices) and one file,
with the size limit enforced while the body arrives (as ``service.uploads`` does for the API).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from service.problems import Problem
from service.uploads import Upload

__all__ = ["UploadForm", "receive_upload_form"]

_ENVELOPE = 64 * 1024  # multipart boundaries, part headers and the small text fields


class UploadForm:
    """The text fields of the form and the uploaded file (None when none was chosen)."""

    def __init__(self, fields: dict[str, str], upload: Upload | None) -> None:
        self.fields = fields
        self.upload = upload


def _too_large(limit_mb: float) -> Problem:
    return Problem(413, "上传文件过大", f"文件超过上传上限 {limit_mb:g} MB，请拆分后再上传")


async def receive_upload_form(request: Request, limit_mb: float) -> UploadForm:
    """The multipart form of ``request``; 413 past ``limit_mb`` MB, 415 if not multipart."""
    limit = int(limit_mb * 1024 * 1024)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(415, detail="请通过页面上的表单上传文件")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _ENVELOPE:
        raise _too_large(limit_mb)

    async def counted() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + _ENVELOPE:
                raise _too_large(limit_mb)
            yield chunk

    parser = MultiPartParser(request.headers, counted(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise Problem(400, detail=f"上传内容无法解析：{error.message}") from None
    try:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        upload = None
        file = form.get("file")
        if isinstance(file, UploadFile) and file.filename:
            data = await file.read(limit + 1)
            if len(data) > limit:
                raise _too_large(limit_mb)
            upload = Upload(file.filename, data)
        return UploadForm(fields, upload)
    finally:
        await form.close()
