import os
import subprocess
import sys

import pytest

from labelwise._io import append_line_durably, atomic_write_text, exclusive_lock
from labelwise.errors import LabelwiseError, LockedError


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    atomic_write_text(target, "new content")
    assert target.read_text() == "new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_append_line_durably_adds_newline(tmp_path):
    path = tmp_path / "log.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        append_line_durably(handle, '{"a": 1}')
        append_line_durably(handle, '{"a": 2}\n')
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'


def test_second_lock_in_same_process_is_refused_with_a_clear_error(tmp_path):
    with exclusive_lock(tmp_path, "benchmark output folder"):
        with pytest.raises(LockedError, match="benchmark output folder") as caught:
            with exclusive_lock(tmp_path, "benchmark output folder"):
                pass
        assert isinstance(caught.value, LabelwiseError)
        assert f"process {os.getpid()}" in str(caught.value)
    with exclusive_lock(tmp_path, "benchmark output folder"):  # released: free again
        pass


_HOLDER = """
import sys
from labelwise._io import exclusive_lock
with exclusive_lock(sys.argv[1], "annotation store"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_lock_held_by_another_process_is_refused_and_freed_when_it_exits(tmp_path):
    store = tmp_path / "annotations.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"annotation store .* process {holder.pid}"):
            with exclusive_lock(store, "annotation store"):
                pass
    finally:
        holder.communicate("release\n", timeout=60)
    with exclusive_lock(store, "annotation store"):
        pass


def test_atomic_write_gives_a_new_file_the_mode_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = atomic_write_text(tmp_path / "atomic.txt", "x")
    assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "config.yaml"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.stat().st_mode & 0o777 == 0o640
