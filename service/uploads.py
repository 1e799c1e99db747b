"""Receiving one uploaded file with a size limit enforced while the body arrives.

Starlette spools a whole multipart body before a route runs; here the stream is counted as it
is read and cut off with 413 once past the limit, so an oversized upload is neither stored nor
processed. The client's file name is only ever text (its extension is checked), never a path.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from service.problems import Problem

__all__ = ["UPLOAD_SCHEMA", "Upload", "read_limited_form", "receive_upload", "too_large"]

# Room for the multipart boundaries and part headers around the file itself.
_ENVELOPE = 64 * 1024

UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "文件"}
                    },
                }
            }
        },
    }
}


@dataclass(frozen=True)
class Upload:
    """The file's name as the client sent it (display only) and its bytes."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        base = self.display_name
        return "." + base.rsplit(".", 1)[1].lower() if "." in base else ""

    @property
    def display_name(self) -> str:
        """The last part of the client's name, whatever its path separators."""
        return self.name.replace("\\", "/").rsplit("/", 1)[-1][:200]


def too_large(limit_mb: float) -> Problem:
    return Problem(413, "上传文件过大", f"文件超过上传上限 {limit_mb:g} MB，请拆分后再上传")


async def read_limited_form(
    request: Request, limit_mb: float, not_multipart: str
) -> tuple[FormData, int]:
    """The multipart form of ``request`` (close it when done) and the limit in bytes; 415 with
    ``not_multipart`` when the body is not multipart, 413 as soon as the body passes
    ``limit_mb`` megabytes (MiB) plus the multipart envelope, 400 when it cannot be parsed."""
    limit = int(limit_mb * 1024 * 1024)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(415, detail=not_multipart)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _ENVELOPE:
        raise too_large(limit_mb)

    async def counted() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + _ENVELOPE:
                raise too_large(limit_mb)
            yield chunk

    parser = MultiPartParser(request.headers, counted(), max_files=1, max_fields=10)
    try:
        return await parser.parse(), limit
    except MultiPartException as error:
        raise Problem(400, detail=f"上传内容无法解析：{error.message}") from None


async def receive_upload(request: Request, limit_mb: float, field: str = "file") -> Upload:
    """The file in the multipart ``field``; 413 past ``limit_mb`` megabytes (MiB), 415 without
    multipart, 422 without the field."""
    form, limit = await read_limited_form(
        request, limit_mb, f"请以 multipart/form-data 上传，文件字段名为 {field}"
    )
    try:
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            reason = "缺少上传的文件"
            raise Problem(422, detail=reason, errors=[{"field": field, "reason": reason}])
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit_mb)
        return Upload(upload.filename or "", data)
    finally:
        await form.close()
