"""CANDLE's "caching on local NV store": copy a prepared dataset once per node to fast local
storage (e.g. Summit's NVMe at /mnt/bb/$USER, Frontier's /mnt/bb/$USER, Perlmutter's /tmp or
Polaris' /local/scratch), so that the trials of that node memory-map the local copy instead of
the shared file system.

The first trial process of a node copies, under a lock file, into a temporary directory that is
renamed when complete; the others wait on the lock and then reuse the copy. A copy is reused
only while it matches the source (same files, sizes and modification times), so a re-prepared
dataset is copied again. Modification times are kept, so staleness checks that compare them
(e.g. a bundle's finished trials) see the same dataset.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

STAMP = ".staged-from.json"


def _fingerprint(source: Path) -> dict:
    """The dataset's files, sizes and modification times; hidden files (``.verified.json``, the
    checksum stamp each copy keeps for itself, and temporary files) are not the dataset's."""
    return {
        "source": str(source.resolve()),
        "files": {
            p.name: [p.stat().st_size, p.stat().st_mtime_ns]
            for p in sorted(source.iterdir())
            if p.is_file() and not p.name.startswith(".")
        },
    }


def stage_prepared(source, local_storage: str | os.PathLike | None) -> Path:
    """The directory trials should read: ``source`` itself when no local storage is configured
    (or it does not exist on this node), else its node-local copy
    ``<local_storage>/candle-staged/<source name>``."""
    source = Path(source)
    if not local_storage:
        return source
    root = Path(os.path.expandvars(os.path.expanduser(str(local_storage))))
    if not root.is_dir():
        print(f"staging: {root} does not exist on this node; reading {source} in place", flush=True)
        return source
    staged_root = root / "candle-staged"
    staged_root.mkdir(parents=True, exist_ok=True)
    target = staged_root / source.name
    wanted = _fingerprint(source)
    with open(staged_root / f"{source.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until the copy is complete; the kernel drops it if we die
        stamp = target / STAMP
        if stamp.exists() and json.loads(stamp.read_text()) == wanted:
            return target
        partial = staged_root / f".{source.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for name in wanted["files"]:
            shutil.copy2(source / name, partial / name)  # copy2 keeps modification times
        (partial / STAMP).write_text(json.dumps(wanted))
        if target.exists():
            shutil.rmtree(target)
        os.rename(partial, target)
        print(f"staging: copied {source} to {target}", flush=True)
    return target
