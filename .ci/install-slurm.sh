#!/usr/bin/env bash
# Install a single-node SLURM and munge from Debian (tests/cluster/test_slurm_real.py starts the daemons).
# Needs root and apt-get; installs nothing when the binaries are already there.
# slurm-wlm is only a metapackage that pulls ~43 packages with its recommends; these 4 are enough.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-slurm: needs root and apt-get" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
packages="slurmctld slurmd slurm-client munge"
# a fresh CI image may have no package lists yet
apt-get install -y -q --no-install-recommends $packages >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $packages >/dev/null
}
command -v slurmctld >/dev/null && command -v munged >/dev/null
