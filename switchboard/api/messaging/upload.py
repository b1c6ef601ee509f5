"""Streaming ``multipart/form-data`` upload of one file (field ``file``).

The body is parsed as it arrives; the file part goes straight to a ``UploadWriter``,
which enforces the size limit on every chunk. Past the limit the partial file is
removed, the rest of the body is read and dropped (so that the client can read the
413 answer), and 413/5501 is raised: nothing is stored.
"""

from __future__ import annotations

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from switchboard.chats.files import UploadWriter
from switchboard.core.errors import DomainError, Invalid

FIELD_NAMES = (b"file",)


def _file_error(message: str) -> Invalid:
    return Invalid(message, code="5558")


async def receive_file(request: Request, writer: UploadWriter) -> None:
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not options.get(b"boundary"):
        raise _file_error("Expected a multipart/form-data body with a 'file' field")
    boundary = options[b"boundary"]

    header_name: list[bytes] = []
    header_value: list[bytes] = []
    headers: dict[bytes, bytes] = {}
    state = {"in_file": False, "done": False}

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.append(data[start:end])

    def on_header_end() -> None:
        headers[b"".join(header_name).strip().lower()] = b"".join(header_value).strip()
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disp = parse_options_header(headers.get(b"content-disposition", b""))
        name = (disp.get(b"name") or b"").lower()
        filename = disp.get(b"filename")
        wanted = name in FIELD_NAMES or (filename is not None and not writer.started)
        if state["done"] or writer.started or not wanted:
            state["in_file"] = False
            return
        content_type = headers.get(b"content-type")
        writer.begin(
            (filename or b"file").decode("utf-8", "replace"),
            content_type.decode("latin-1") if content_type else None,
        )
        state["in_file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["in_file"]:
            writer.write(data[start:end])

    def on_part_end() -> None:
        if state["in_file"]:
            state["in_file"] = False
            state["done"] = True

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    stream = request.stream()
    try:
        async for chunk in stream:
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except DomainError:
        writer.abort()
        await _drain(stream, limit=4 * writer.limit)
        raise
    except Exception as e:
        writer.abort()
        raise _file_error(f"Malformed multipart body: {e}") from e
    if not state["done"]:
        writer.abort()
        raise _file_error("No 'file' field in the multipart body")
    try:
        writer.finish()
    except OSError as e:
        writer.abort()
        raise _file_error(f"Could not store the file: {e}") from e


async def _drain(stream: object, *, limit: int) -> None:
    """Read and drop the rest of the body (bounded), so the client gets the answer."""
    seen = 0
    try:
        async for chunk in stream:  # type: ignore[attr-defined]
            seen += len(chunk)
            if seen > limit:
                break
    except Exception:  # the client went away: nothing to answer
        return
