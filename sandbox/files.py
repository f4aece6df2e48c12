"""Stored files: uploads, the media objects that describe them, and file paths for getFile."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from sandbox.models import JSON, drop_none
from sandbox.params import UploadedFile

# kind -> (default MIME type, folder of file_path, extension, file_id prefix)
_KINDS: dict[str, tuple[str, str, str, str]] = {
    "photo": ("image/jpeg", "photos", "jpg", "AgACAgIAAxkBAAI"),
    "document": ("application/octet-stream", "documents", "bin", "BQACAgIAAxkBAAI"),
    "video": ("video/mp4", "videos", "mp4", "BAACAgIAAxkBAAI"),
    "audio": ("audio/mpeg", "music", "mp3", "CQACAgIAAxkBAAI"),
    "voice": ("audio/ogg", "voice", "oga", "AwACAgIAAxkBAAI"),
    "sticker": ("image/webp", "stickers", "webp", "CAACAgIAAxkBAAI"),
    "animation": ("video/mp4", "animations", "mp4", "CgACAgIAAxkBAAI"),
    "video_note": ("video/mp4", "video_notes", "mp4", "DQACAgIAAxkBAAI"),
}
MEDIA_KINDS = tuple(_KINDS)
_PHOTO_SIDES = (90, 320, 800)
_DEFAULT_SIZE = (1280, 960)
# Plausible defaults for fields the Bot API requires on each kind of media object.
_REQUIRED_META: dict[str, JSON] = {
    "video": {"width": 640, "height": 360, "duration": 5},
    "animation": {"width": 320, "height": 240, "duration": 2},
    "audio": {"duration": 30},
    "voice": {"duration": 3},
    "video_note": {"length": 240, "duration": 4},
    "sticker": {
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    },
}
_META_KEYS = (
    "width",
    "height",
    "duration",
    "length",
    "performer",
    "title",
    "emoji",
    "type",
    "is_animated",
    "is_video",
    "set_name",
)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    data: bytes | None
    mime_type: str
    file_name: str | None = None
    meta: JSON = field(default_factory=dict)
    photo_set: list[str] = field(default_factory=list)  # sibling sizes, smallest first

    @property
    def size(self) -> int | None:
        return len(self.data) if self.data is not None else None

    def to_file_api(self) -> JSON:
        return drop_none(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "file_path": self.file_path,
            }
        )

    def photo_size(self) -> JSON:
        return drop_none(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "width": self.meta.get("width", _DEFAULT_SIZE[0]),
                "height": self.meta.get("height", _DEFAULT_SIZE[1]),
            }
        )


def _image_size(data: bytes | None) -> tuple[int, int]:
    """Read the size of a PNG; other formats get a plausible default."""
    if data and data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        if width and height:
            return int(width), int(height)
    return _DEFAULT_SIZE


class FileStore:
    """All files one bot knows, by file_id and by file_path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = 0

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def _new(
        self,
        kind: str,
        data: bytes | None,
        *,
        file_id: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        meta: JSON | None = None,
    ) -> StoredFile:
        default_mime, folder, extension, prefix = _KINDS[kind]
        self._counter += 1
        if file_name and "." in file_name:
            extension = file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=file_id or prefix + secrets.token_urlsafe(36),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            kind=kind,
            file_path=f"{folder}/file_{self._counter}.{extension}",
            data=data,
            mime_type=mime_type or default_mime,
            file_name=file_name,
            meta={**_REQUIRED_META.get(kind, {}), **(meta or {})},
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def add(
        self,
        kind: str,
        data: bytes | None,
        *,
        file_id: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        meta: JSON | None = None,
    ) -> StoredFile:
        """Store a new file; a photo becomes a set of sizes, the largest one returned."""
        if kind != "photo":
            return self._new(
                kind, data, file_id=file_id, file_name=file_name, mime_type=mime_type, meta=meta
            )
        width, height = _image_size(data)
        sizes: list[StoredFile] = []
        for index, side in enumerate(_PHOTO_SIDES):
            scale = min(1.0, side / max(width, height))
            is_largest = index == len(_PHOTO_SIDES) - 1
            size_meta = {
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
            }
            sizes.append(
                self._new(
                    "photo",
                    data,
                    file_id=file_id if is_largest else None,
                    mime_type=mime_type,
                    meta=size_meta,
                )
            )
        for size in sizes:
            size.photo_set = [s.file_id for s in sizes]
        return sizes[-1]

    def from_input(
        self, kind: str, value: UploadedFile | str, meta: JSON | None = None
    ) -> StoredFile:
        """Resolve what a sender passed: an upload, a known file_id, or anything else.

        Unknown strings (foreign file_ids, URLs) get a placeholder so a plausible object can
        be echoed; there are no bytes behind it.
        """
        if isinstance(value, UploadedFile):
            return self.add(
                kind,
                value.data,
                file_name=value.filename if kind != "photo" else None,
                mime_type=value.content_type
                if value.content_type != "application/octet-stream"
                else None,
                meta=meta,
            )
        known = self._by_id.get(value)
        if known is not None:
            return known
        is_url = value.startswith(("http://", "https://"))
        name = value.rsplit("/", 1)[-1] if is_url and kind == "document" else None
        return self.add(kind, None, file_id=None if is_url else value, file_name=name, meta=meta)

    def media_object(self, stored: StoredFile) -> Any:
        """The Message field for this file (``photo`` is a list of PhotoSize)."""
        if stored.kind == "photo":
            siblings = [self._by_id[f] for f in stored.photo_set if f in self._by_id]
            return [s.photo_size() for s in siblings or [stored]]
        meta = {k: v for k, v in stored.meta.items() if k in _META_KEYS}
        if stored.kind in {"document", "video", "audio", "animation"}:
            meta["file_name"] = stored.file_name
        if stored.kind != "sticker":
            meta["mime_type"] = stored.mime_type
        return drop_none(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                **meta,
            }
        )
