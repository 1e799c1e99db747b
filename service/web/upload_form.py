"""Reading a page's upload form: its text fields (the CSRF token, the choices) and one file,
with the size limit enforced while the body arrives (as ``service.uploads`` does for the API).
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from service.uploads import Upload, read_limited_form, too_large

__all__ = ["UploadForm", "receive_upload_form"]


class UploadForm:
    """The text fields of the form and the uploaded file (None when none was chosen)."""

    def __init__(self, fields: dict[str, str], upload: Upload | None) -> None:
        self.fields = fields
        self.upload = upload


async def receive_upload_form(request: Request, limit_mb: float) -> UploadForm:
    """The multipart form of ``request``; 413 past ``limit_mb`` MB, 415 if not multipart."""
    form, limit = await read_limited_form(request, limit_mb, "请通过页面上的表单上传文件")
    try:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        upload = None
        file = form.get("file")
        if isinstance(file, UploadFile) and file.filename:
            data = await file.read(limit + 1)
            if len(data) > limit:
                raise too_large(limit_mb)
            upload = Upload(file.filename, data)
        return UploadForm(fields, upload)
    finally:
        await form.close()
