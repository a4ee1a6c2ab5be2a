"""Content-addressed files in S3-compatible object storage, resumable across app servers.

A finished file is the object ``<prefix><sha256>``. Nothing of an upload in progress lives in a process or on a
machine's disk: each chunk is an object of its own, ``<prefix>partial/<sha256>/<offset>.<token>``, and the
upload's offset is read from the bucket's listing of those objects, so the next chunk may go to any app server.
Chunk objects are only ever added (a random token names each one, nothing is overwritten): the offset is the
furthest byte that chunks joined end to end reach from 0, and a chunk sent twice, or two senders racing, leave a
spare chunk that is ignored and removed at the end.

The chunk that reaches the declared length joins the chunks in order into the final object (S3 multipart parts
must be at least 5 MiB, the kits send 128 KiB chunks: the bytes are regrouped into ``part_size`` parts, or one
PUT for a small file), hashing them on the way; the multipart upload is completed only when the SHA-256 is the
file's name, else it is aborted and the chunks are deleted: a wrong file never appears under a name. The partial
objects are deleted once the file is there. A bucket lifecycle rule on ``<prefix>partial/`` should expire
uploads abandoned for days (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from catalog.files import (
    HashMismatch,
    OffsetMismatch,
    StoredFile,
    UploadState,
    check_chunk,
    check_length,
    check_name,
)

MIN_PART = 5 * 1024 * 1024  # S3's smallest multipart part (but the last)
PART_SIZE = 8 * 1024 * 1024
MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in MISSING


@dataclass(frozen=True)
class Chunk:
    offset: int
    size: int
    key: str


class S3FileStore:
    """Files in ``bucket`` under ``prefix`` through a boto3 S3 client (thread-safe: one per app)."""

    def __init__(self, client: Any, bucket: str, prefix: str, max_size: int, part_size: int = PART_SIZE) -> None:
        if part_size < MIN_PART:
            raise ValueError(f"part_size must be at least {MIN_PART} bytes (S3's smallest multipart part)")
        self.client, self.bucket, self.max_size, self.part_size = client, bucket, max_size, part_size
        self.prefix = prefix

    # -- keys -------------------------------------------------------------------------------------------------

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def _partial_prefix(self, sha256: str) -> str:
        return f"{self.prefix}partial/{sha256}/"

    def _chunks(self, sha256: str) -> list[Chunk]:
        base = self._partial_prefix(sha256)
        out: list[Chunk] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(base):]
                head, _, _token = name.partition(".")
                if head.isdigit() and obj["Size"] > 0:
                    out.append(Chunk(int(head), int(obj["Size"]), obj["Key"]))
        return out

    @staticmethod
    def _path(chunks: list[Chunk]) -> list[Chunk]:
        """The chunks, end to end from 0, that reach furthest (ties: the first key)."""
        at: dict[int, list[Chunk]] = {}
        for c in chunks:
            at.setdefault(c.offset, []).append(c)
        reach: dict[int, int] = {}
        best: dict[int, Chunk] = {}
        for offset in sorted(at, reverse=True):  # a chunk leads only to higher offsets
            far = offset
            for c in sorted(at[offset], key=lambda c: c.key):
                end = reach.get(c.offset + c.size, c.offset + c.size)
                if end > far:
                    far, best[offset] = end, c
            reach[offset] = far
        path, offset = [], 0
        while offset in best:
            path.append(best[offset])
            offset += best[offset].size
        return path

    def _final_size(self, sha256: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))["ContentLength"])
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    # -- FileStore --------------------------------------------------------------------------------------------

    def state(self, sha256: str) -> UploadState:
        check_name(sha256)
        size = self._final_size(sha256)
        if size is not None:
            return UploadState(size, True, size)
        path = self._path(self._chunks(sha256))
        return UploadState(path[-1].offset + path[-1].size if path else 0, False)

    def put(self, sha256: str, offset: int, data: bytes, length: int) -> UploadState:
        now = self.state(sha256)
        if now.complete:
            return now  # a known file is not sent again; a repeated last chunk changes nothing
        check_length(length, self.max_size)
        if offset != now.offset:
            raise OffsetMismatch(now.offset)
        check_chunk(offset, data, length)
        if data:
            self.client.put_object(Bucket=self.bucket, Body=data,
                                   Key=f"{self._partial_prefix(sha256)}{offset:012d}.{secrets.token_hex(6)}")
        end = offset + len(data)
        if end < length:
            return UploadState(end, False, length)
        return self._finish(sha256, length)

    def open(self, sha256: str) -> StoredFile | None:
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key(check_name(sha256)))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return StoredFile(int(got["ContentLength"]), got["Body"])

    # -- completion -------------------------------------------------------------------------------------------

    def _finish(self, sha256: str, length: int) -> UploadState:
        chunks = self._chunks(sha256)
        path = self._path(chunks)
        reach = path[-1].offset + path[-1].size if path else 0
        if reach < length:  # another server finished (and cleared) it meanwhile, or a chunk went missing
            return self.state(sha256)
        digest = hashlib.sha256()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        buffer = bytearray()
        try:
            for block in self._read(path, length):
                digest.update(block)
                buffer += block
                if len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(Bucket=self.bucket,
                                                                        Key=self.key(sha256))["UploadId"]
                    parts.append(self._part(sha256, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            got = digest.hexdigest()
            if got != sha256:
                self._abort(sha256, upload_id)
                upload_id = None
                self._delete([c.key for c in chunks])
                raise HashMismatch(sha256, got)
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=bytes(buffer))
            else:
                if buffer:
                    parts.append(self._part(sha256, upload_id, len(parts) + 1, bytes(buffer)))
                self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key(sha256), UploadId=upload_id,
                                                      MultipartUpload={"Parts": parts})
                upload_id = None
        except ClientError as exc:
            self._abort(sha256, upload_id)
            if not _missing(exc):
                raise
            # A chunk vanished under us: another server completed the file and cleared its chunks.
            now = self.state(sha256)
            if now.complete:
                return now
            raise OffsetMismatch(now.offset) from None
        except BaseException:  # the bucket went away mid-way: leave no multipart upload open if it can be helped
            try:
                self._abort(sha256, upload_id)
            except Exception:  # noqa: BLE001 - the first error is the one to report; the lifecycle rule cleans up
                pass
            raise
        self._delete([c.key for c in chunks])
        return UploadState(length, True, length)

    def _read(self, path: list[Chunk], length: int) -> Iterator[bytes]:
        left = length
        for c in path:
            body = self.client.get_object(Bucket=self.bucket, Key=c.key)["Body"]
            try:
                block = body.read()
            finally:
                body.close()
            block = block[:left]
            left -= len(block)
            yield block
            if left <= 0:
                return

    def _part(self, sha256: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        done = self.client.upload_part(Bucket=self.bucket, Key=self.key(sha256), UploadId=upload_id,
                                       PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": done["ETag"]}

    def _abort(self, sha256: str, upload_id: str | None) -> None:
        if upload_id is None:
            return
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key(sha256), UploadId=upload_id)
        except ClientError as exc:
            if not _missing(exc):
                raise

    def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
