"""Content-addressed files (photos, GPS tracks), uploaded in chunks that resume after a drop.

A file is named by the SHA-256 of its bytes. An upload appends chunks at the offset the store holds; the byte
that completes the declared length triggers the check: the file is kept only if its hash is its name. Two
stores implement :class:`FileStore`: :class:`LocalFileStore` on local disk under the instance folder
(``files/ab/abcdef…``, partial uploads in ``files/partial/``), and ``catalog.files_s3.S3FileStore`` in
S3-compatible object storage, where the offset of an upload lives in the bucket, so any app server resumes it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from catalog.errors import Conflict, FieldError, ValidationFailed

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class OffsetMismatch(Conflict):
    """A chunk sent for an offset other than the one the store holds (the client resumes from ``offset``)."""

    code = "offset_mismatch"
    zh = "上传位置不符，请从服务器记录的位置继续"
    en = "The chunk's offset is not the server's: resume from the server's offset"

    def __init__(self, offset: int) -> None:
        super().__init__(offset=offset)
        self.offset = offset


class HashMismatch(ValidationFailed):
    code = "hash_mismatch"
    zh = "文件校验失败（SHA-256 不符），已丢弃，请重新上传"
    en = "The file's SHA-256 does not match its name: it was discarded, upload it again"

    def __init__(self, expected: str, got: str) -> None:
        super().__init__([FieldError("sha256", "hash_mismatch", self.zh, self.en)], expected=expected, got=got)


@dataclass(frozen=True)
class UploadState:
    offset: int
    complete: bool
    length: int | None = None


@dataclass
class StoredFile:
    """A stored file opened for reading: its size and a binary stream (close it when done)."""

    size: int
    stream: BinaryIO

    def close(self) -> None:
        self.stream.close()


class FileStore(Protocol):
    def state(self, sha256: str) -> UploadState:
        """How much of the file the store holds (complete: all of it, verified)."""
        ...

    def put(self, sha256: str, offset: int, data: bytes, length: int) -> UploadState:
        """Append ``data`` at ``offset`` (the store's offset, else :class:`OffsetMismatch`) of a file of ``length``
        bytes; the chunk that completes it triggers the hash check (:class:`HashMismatch` discards the upload)."""
        ...

    def open(self, sha256: str) -> StoredFile | None:
        """The complete file for reading, or None."""
        ...


def check_length(length: int, max_size: int) -> None:
    if not 0 < length <= max_size:
        raise ValidationFailed([FieldError("length", "invalid", f"文件大小须在 1 至 {max_size} 字节之间",
                                           f"The length must be 1 to {max_size} bytes")])


def check_chunk(offset: int, data: bytes, length: int) -> None:
    if offset + len(data) > length:
        raise ValidationFailed([FieldError("length", "too_long", "数据超过声明的文件大小",
                                           "The data runs past the declared length")])


def check_name(sha256: str) -> str:
    if not SHA256.match(sha256):
        raise ValidationFailed([FieldError("sha256", "invalid", "文件名须为64位小写十六进制 SHA-256",
                                           "The name must be a SHA-256 in 64 lowercase hex digits")])
    return sha256


class LocalFileStore:
    """Files on local disk. Safe for several app processes on one host: a chunk is written only at the current
    end of the partial file, and a finished file appears by an atomic rename."""

    def __init__(self, root: Path, max_size: int) -> None:
        self.root = root
        self.max_size = max_size

    def _final(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _partial(self, sha256: str) -> Path:
        return self.root / "partial" / sha256

    def state(self, sha256: str) -> UploadState:
        check_name(sha256)
        final = self._final(sha256)
        if final.exists():
            size = final.stat().st_size
            return UploadState(size, True, size)
        partial = self._partial(sha256)
        return UploadState(partial.stat().st_size if partial.exists() else 0, False)

    def path(self, sha256: str) -> Path | None:
        final = self._final(check_name(sha256))
        return final if final.exists() else None

    def open(self, sha256: str) -> StoredFile | None:
        final = self._final(check_name(sha256))
        try:
            stream = final.open("rb")
        except FileNotFoundError:
            return None
        return StoredFile(os.fstat(stream.fileno()).st_size, stream)

    def put(self, sha256: str, offset: int, data: bytes, length: int) -> UploadState:
        """Append ``data`` at ``offset`` of a file of ``length`` bytes; verify and keep it when complete."""
        now = self.state(sha256)
        if now.complete:
            return now  # a known file is not sent again; a repeated last chunk changes nothing
        check_length(length, self.max_size)
        if offset != now.offset:
            raise OffsetMismatch(now.offset)
        check_chunk(offset, data, length)
        partial = self._partial(sha256)
        partial.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size != offset:  # another upload of the same file moved on meanwhile
                raise OffsetMismatch(os.fstat(fd).st_size)
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)
        end = offset + len(data)
        if end < length:
            return UploadState(end, False, length)
        return self._finish(sha256, partial, length)

    def _finish(self, sha256: str, partial: Path, length: int) -> UploadState:
        digest = hashlib.sha256()
        with partial.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        got = digest.hexdigest()
        if got != sha256:
            partial.unlink(missing_ok=True)
            raise HashMismatch(sha256, got)
        final = self._final(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
        return UploadState(length, True, length)
