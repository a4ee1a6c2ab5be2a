"""The S3 file store against a real S3-compatible server (moto's, over HTTP): resumable chunks whose offset lives
in the bucket, so two stores (two app servers) continue each other's uploads; the hash checked on completion."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from catalog.files import HashMismatch, OffsetMismatch, UploadState
from catalog.files_s3 import MIN_PART, S3FileStore
from server.storage import s3_client

MAX = 64 * 1024 * 1024
CHUNK = 128 * 1024  # what the kits send


@pytest.fixture
def clients(s3_settings: dict[str, str]) -> Iterator[list[Any]]:
    made = [s3_client(s3_settings) for _ in range(3)]
    yield made
    for c in made:
        c.close()


def stores(settings: dict[str, str], clients: list[Any]) -> tuple[S3FileStore, S3FileStore]:
    """Two stores with clients of their own, as two app servers have."""
    return tuple(S3FileStore(c, settings["S3_BUCKET"], settings["S3_PREFIX"], MAX, part_size=MIN_PART)
                 for c in clients[:2])  # type: ignore[return-value]


def keys(settings: dict[str, str], client: Any, under: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=settings["S3_BUCKET"],
                                                             Prefix=settings["S3_PREFIX"] + under)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


def stored_bytes(settings: dict[str, str], client: Any, sha: str) -> bytes:
    body = client.get_object(Bucket=settings["S3_BUCKET"], Key=settings["S3_PREFIX"] + sha)["Body"]
    try:
        return bytes(body.read())
    finally:
        body.close()


def test_s3__chunks_alternate_between_two_servers__resume_after_drops__file_under_its_sha(s3_settings, clients):
    a, b = stores(s3_settings, clients)
    data = os.urandom(700 * 1024 + 3)
    sha = hashlib.sha256(data).hexdigest()
    assert a.state(sha) == UploadState(0, False)
    offset, turn, answered = 0, 0, 0
    while True:
        store = (a, b)[turn % 2]
        turn += 1
        state = store.put(sha, offset, data[offset:offset + CHUNK], len(data))
        if turn % 2 == 1 and not state.complete:
            # The answer is lost after the server stored the chunk: the kit sends the same offset again, to the
            # other server, which answers with the offset the bucket holds.
            with pytest.raises(OffsetMismatch) as held:
                (a, b)[turn % 2].put(sha, offset, data[offset:offset + CHUNK], len(data))
            assert held.value.offset == state.offset == offset + CHUNK
            assert (b, a)[turn % 2].state(sha) == UploadState(state.offset, False)
            answered += 1
        if state.complete:
            break
        offset = state.offset
    assert answered >= 2
    assert state == UploadState(len(data), True, len(data))
    assert b.state(sha) == a.state(sha) == UploadState(len(data), True, len(data))
    assert stored_bytes(s3_settings, clients[2], sha) == data
    assert keys(s3_settings, clients[2]) == [s3_settings["S3_PREFIX"] + sha]  # no chunk left behind
    opened = b.open(sha)
    assert opened is not None
    try:
        assert opened.size == len(data) and opened.stream.read() == data
    finally:
        opened.close()
    # A known file is not sent again; a repeated last chunk changes nothing.
    assert a.put(sha, 0, data[:CHUNK], len(data)) == UploadState(len(data), True, len(data))


def test_s3__wrong_offset__answered_with_the_stores_offset(s3_settings, clients):
    a, b = stores(s3_settings, clients)
    data = os.urandom(3 * CHUNK)
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(OffsetMismatch) as ahead:
        a.put(sha, CHUNK, data[CHUNK:2 * CHUNK], len(data))  # nothing held yet: resume from 0
    assert ahead.value.offset == 0
    assert a.put(sha, 0, data[:CHUNK], len(data)) == UploadState(CHUNK, False, len(data))
    for wrong in (0, 2 * CHUNK, CHUNK + 1):
        with pytest.raises(OffsetMismatch) as held:
            b.put(sha, wrong, data[wrong:wrong + CHUNK], len(data))
        assert held.value.offset == CHUNK
    assert len(keys(s3_settings, clients[2], f"partial/{sha}/")) == 1  # refused chunks stored nothing


def test_s3__wrong_hash__discarded_no_object_no_chunks_no_open_multipart(s3_settings, clients):
    a, b = stores(s3_settings, clients)
    data = os.urandom(MIN_PART + 300 * 1024)  # past one part: the multipart upload is begun, then aborted
    wrong = hashlib.sha256(b"another photo").hexdigest()
    offset = 0
    with pytest.raises(HashMismatch):
        while True:
            offset = (a, b)[offset // (512 * 1024) % 2].put(wrong, offset, data[offset:offset + 512 * 1024],
                                                            len(data)).offset
    assert a.state(wrong) == UploadState(0, False)
    assert keys(s3_settings, clients[2]) == []
    assert a.open(wrong) is None
    uploads = clients[2].list_multipart_uploads(Bucket=s3_settings["S3_BUCKET"]).get("Uploads", [])
    assert uploads == []


def test_s3__larger_than_two_parts__composed_in_order(s3_settings, clients):
    a, b = stores(s3_settings, clients)
    data = os.urandom(2 * MIN_PART + 12345)
    sha = hashlib.sha256(data).hexdigest()
    offset, n, step = 0, 0, 256 * 1024
    while not (state := (a, b)[n % 2].put(sha, offset, data[offset:offset + step], len(data))).complete:
        offset, n = state.offset, n + 1
    assert stored_bytes(s3_settings, clients[2], sha) == data
    assert keys(s3_settings, clients[2]) == [s3_settings["S3_PREFIX"] + sha]


def test_s3__a_racing_sender_left_a_spare_chunk__the_offset_follows_the_chain_and_the_spare_goes(
        s3_settings, clients):
    a, _b = stores(s3_settings, clients)
    data = os.urandom(3 * CHUNK)
    sha = hashlib.sha256(data).hexdigest()
    a.put(sha, 0, data[:CHUNK], len(data))
    # Another sender that read the same offset wrote a shorter chunk there at the same time.
    clients[2].put_object(Bucket=s3_settings["S3_BUCKET"], Body=data[:1000],
                          Key=f"{s3_settings['S3_PREFIX']}partial/{sha}/{0:012d}.racer")
    assert a.state(sha).offset == CHUNK  # the chain that reaches furthest
    a.put(sha, CHUNK, data[CHUNK:2 * CHUNK], len(data))
    assert a.put(sha, 2 * CHUNK, data[2 * CHUNK:], len(data)).complete
    assert stored_bytes(s3_settings, clients[2], sha) == data
    assert keys(s3_settings, clients[2]) == [s3_settings["S3_PREFIX"] + sha]


def test_s3__empty_last_chunk_completes_an_upload_whose_bytes_are_all_there(s3_settings, clients):
    a, b = stores(s3_settings, clients)
    data = os.urandom(CHUNK + 10)
    sha = hashlib.sha256(data).hexdigest()
    a.put(sha, 0, data[:CHUNK], len(data))
    clients[2].put_object(Bucket=s3_settings["S3_BUCKET"], Body=data[CHUNK:],  # stored, then the server died
                          Key=f"{s3_settings['S3_PREFIX']}partial/{sha}/{CHUNK:012d}.crashed")
    assert b.state(sha) == UploadState(len(data), False)
    assert b.put(sha, len(data), b"", len(data)) == UploadState(len(data), True, len(data))
    assert stored_bytes(s3_settings, clients[2], sha) == data


def test_s3__bad_length_or_name__refused(s3_settings, clients):
    a, _b = stores(s3_settings, clients)
    sha = hashlib.sha256(b"x").hexdigest()
    from catalog.errors import ValidationFailed

    for offset, data, length in ((0, b"x", 0), (0, b"x", MAX + 1), (0, b"xy", 1)):
        with pytest.raises(ValidationFailed):
            a.put(sha, offset, data, length)
    with pytest.raises(ValidationFailed):
        a.state("not-a-sha")
    assert keys(s3_settings, clients[2]) == []


def test_s3__part_size_below_s3s_minimum__refused(s3_settings, clients):
    with pytest.raises(ValueError, match="at least"):
        S3FileStore(clients[0], s3_settings["S3_BUCKET"], "", MAX, part_size=MIN_PART - 1)
