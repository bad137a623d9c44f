"""multipart/form-data bodies on the lean predict path: `image` file fields become image bytes.

Other fields (`id`, `top_k`, `text`) keep their meaning; numbers are parsed so the core sees the
same payload a JSON client would send.
"""

from __future__ import annotations

from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from mlplatform.errors import InvalidInput
from mlplatform.ids import is_digits

IMAGE_FIELDS = frozenset({"image", "images"})


def is_multipart(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/form-data")


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """The payload of a multipart body: images as bytes, `top_k` as an integer."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("multipart body without a boundary")
    parts = _split(boundary, body)
    images = [data for name, data in parts if name in IMAGE_FIELDS]
    payload: dict[str, Any] = {}
    for name, data in parts:
        if name in IMAGE_FIELDS:
            continue
        text = data.decode("utf-8", errors="replace")
        payload[name] = _int_or_text(text) if name == "top_k" else text
    if len(images) == 1 and not any(name == "images" for name, _ in parts):
        payload["image"] = images[0]
    elif images:
        payload["images"] = images
    return payload


def _split(boundary: bytes, body: bytes) -> list[tuple[str, bytes]]:
    parts: list[tuple[str, bytes]] = []
    state: dict[str, Any] = {"header_field": b"", "header_value": b"", "headers": {}, "data": []}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"], state["header_value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"].append(data[start:end])

    def on_part_end() -> None:
        _, params = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", errors="replace")
        parts.append((name, b"".join(state["data"])))
        state["headers"], state["data"] = {}, []

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # the parser raises several types for malformed bodies
        raise InvalidInput(f"malformed multipart body: {exc}") from None
    return parts


def _int_or_text(text: str) -> int | str:
    return int(text) if is_digits(text.strip().removeprefix("-")) else text
