#!/usr/bin/env python3
"""Job status for snakemake-executor-plugin-cluster-generic on PBS Pro: prints running, success or
failed for the job id given, from `qstat -x -f -F json` (-x: finished jobs too)."""

import json
import subprocess
import sys

job = sys.argv[1]
result = subprocess.run(["qstat", "-x", "-f", "-F", "json", job], capture_output=True, text=True)
if result.returncode != 0:
    print("running")  # the server is busy or has not seen the job yet: ask again later
    sys.exit(0)
info = json.loads(result.stdout)["Jobs"].get(job) or next(iter(json.loads(result.stdout)["Jobs"].values()))
if info.get("job_state") != "F":
    print("running")
else:
    print("success" if int(info.get("Exit_status", 1)) == 0 else "failed")
