#!/usr/bin/env python3
"""Compares provcheck builds on one tree in alternating runs.

The 2-core machine's speed drifts by up to a third from hour to hour, so
two builds measured an hour apart say little about a change. This runs
`check --format json` with each binary in turn, ROUNDS times, and gives
each one's median and fastest wall time and its median CPU time (user
plus system, from getrusage): the builds share whatever the machine is
doing.

Usage: scripts/bench-ab.py ROUNDS TREE BINARY...
  e.g. scripts/bench-ab.py 21 ../corpora/_views/terraform-all \\
         /tmp/before/provcheck target/release/provcheck
"""

import resource
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> int:
    if len(sys.argv) < 4 or not sys.argv[1].isdigit():
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    rounds, tree, binaries = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    runs = {binary: [] for binary in binaries}
    with tempfile.TemporaryDirectory() as work:
        report = f"{work}/report.json"
        for _ in range(rounds):
            for binary in binaries:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run(
                    [binary, "check", "--format", "json", "-o", report, tree],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                runs[binary].append((wall, cpu))
    for binary, measured in runs.items():
        walls = [wall for wall, _ in measured]
        cpus = [cpu for _, cpu in measured]
        print(
            f"{binary}: wall median {statistics.median(walls) * 1000:.1f} ms, "
            f"fastest {min(walls) * 1000:.1f} ms; "
            f"CPU median {statistics.median(cpus) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
