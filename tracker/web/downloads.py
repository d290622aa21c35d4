"""Evidence downloads: the same response whichever store holds the content (tracker/evidence.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi.responses import FileResponse, Response

from tracker.models import Evidence


def evidence_response(ev: Evidence, content: Path | bytes, *, disposition_type: str = "attachment") -> Response:
    """A file of the directory store is streamed from disk; bytes from the database are sent as they are,
    with the headers FileResponse gives (type, disposition with the original file name)."""
    if isinstance(content, Path):
        return FileResponse(
            content, media_type=ev.content_type, filename=ev.filename, content_disposition_type=disposition_type
        )
    quoted = quote(ev.filename)
    disposition = (
        f"{disposition_type}; filename*=utf-8''{quoted}"
        if quoted != ev.filename
        else f'{disposition_type}; filename="{ev.filename}"'
    )
    return Response(content, media_type=ev.content_type, headers={"content-disposition": disposition})
