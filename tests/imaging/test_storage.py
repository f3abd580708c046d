"""Content-addressed payload storage: atomic, idempotent, confined to its root."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from imaging import load_payload, prepare_image, remove_payload, store_payload
from tests.imaging.helpers import LIMITS

SHA = "ab" + "0" * 62


def test_store_load_remove(tmp_path):
    relative, created = store_payload(root=tmp_path, sha256=SHA, suffix=".png", payload=b"one")
    assert created and relative == Path("ab") / f"{SHA}.png"
    assert (tmp_path / relative).read_bytes() == b"one"
    again, created = store_payload(root=tmp_path, sha256=SHA, suffix=".png", payload=b"two")
    assert again == relative and not created
    assert load_payload(root=tmp_path, relative_path=relative) == b"one"  # the first one stays
    assert [p.name for p in (tmp_path / "ab").iterdir()] == [f"{SHA}.png"]  # no temporary left
    assert remove_payload(root=tmp_path, relative_path=relative)
    assert not remove_payload(root=tmp_path, relative_path=relative)
    with pytest.raises(FileNotFoundError):
        load_payload(root=tmp_path, relative_path=relative)


def test_reimport_in_another_syntax_finds_the_stored_file(rg1_paths, tmp_path):
    first = prepare_image(rg1_paths["UNCR"], **LIMITS)
    second = prepare_image(rg1_paths["J2KR"], **LIMITS)
    path, created = store_payload(
        root=tmp_path, sha256=first.sha256, suffix=first.suffix, payload=first.payload
    )
    again, created_again = store_payload(
        root=tmp_path, sha256=second.sha256, suffix=second.suffix, payload=second.payload
    )
    assert created and not created_again and path == again


def test_concurrent_writers_create_once(tmp_path):
    results, barrier = [], threading.Barrier(8)

    def write(i: int) -> None:
        barrier.wait()
        results.append(store_payload(root=tmp_path, sha256=SHA, suffix=".dcm", payload=b"x" * 100_000)[1])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert len(list((tmp_path / "ab").iterdir())) == 1


@pytest.mark.parametrize("sha", ["../" + "a" * 61, "A" * 64, "a" * 63, ""])
def test_bad_hash_is_refused(tmp_path, sha):
    with pytest.raises(ValueError, match="sha256"):
        store_payload(root=tmp_path, sha256=sha, suffix=".dcm", payload=b"x")


def test_bad_suffix_and_escaping_paths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        store_payload(root=tmp_path, sha256=SHA, suffix="/../x", payload=b"x")
    (tmp_path / "secret.txt").write_text("no")
    store = tmp_path / "store"
    store.mkdir()
    for bad in ("../secret.txt", "/etc/passwd", "."):
        with pytest.raises(ValueError, match="inside the image store"):
            load_payload(root=store, relative_path=bad)
        with pytest.raises(ValueError, match="inside the image store"):
            remove_payload(root=store, relative_path=bad)
    assert (tmp_path / "secret.txt").exists()
