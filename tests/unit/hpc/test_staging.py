"""Node-local staging of a prepared dataset: copied once per node, again when the data change."""

from __future__ import annotations

import os

from candle_lib.hpc.staging import stage_prepared


def test_staging_copies_once_per_node_and_again_when_the_data_change(tmp_path):
    source = tmp_path / "shared" / "prep-0000abcd"
    source.mkdir(parents=True)
    (source / "matrix.npy").write_bytes(b"x" * 1000)
    (source / "manifest.json").write_text("{}")
    (source / ".verified.json").write_text("{}")  # the source's own checksum stamp is not copied
    assert stage_prepared(source, None) == source
    local = tmp_path / "nvme"
    local.mkdir()
    staged = stage_prepared(source, str(local))
    assert staged == local / "candle-staged" / "prep-0000abcd"
    assert (staged / "matrix.npy").read_bytes() == b"x" * 1000
    assert not (staged / ".verified.json").exists()
    assert (staged / "manifest.json").stat().st_mtime_ns == (source / "manifest.json").stat().st_mtime_ns
    inode = (staged / "matrix.npy").stat().st_ino
    assert stage_prepared(source, str(local)) == staged and (staged / "matrix.npy").stat().st_ino == inode  # reused
    (source / ".verified.json").write_text('{"files": {}}')  # a new stamp in the source: the copy is still good
    assert stage_prepared(source, str(local)) == staged and (staged / "matrix.npy").stat().st_ino == inode
    (source / "matrix.npy").write_bytes(b"y" * 1000)
    os.utime(source / "matrix.npy", ns=(1, 2))
    assert (stage_prepared(source, str(local)) / "matrix.npy").read_bytes() == b"y" * 1000
    assert stage_prepared(source, str(tmp_path / "missing")) == source  # no local storage on this node
