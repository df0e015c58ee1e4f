#!/usr/bin/env python3
"""bench/bwlimit.py PID CONFIG FERRY HOME — used by `bench/run bwlimit`.

PID is a running `ferry upload` of four files at once under `bwlimit = "5M"` (set in
CONFIG, the home's config.toml). Measures what that process writes to its sockets
(/proc/PID/io `wchar`: every byte passed to write/send, so the HTTP bodies; its database
writes are a few KiB a second) for 30 s after a 3 s warm-up, and each job's share of it
(`ferry queue list --json`, read from the journal meanwhile). Then rewrites CONFIG with
`bwlimit = "2M"` (atomically, as an editor or the app would) and measures the next 10 s:
what went beyond 2 MiB/s there, at the old rate's surplus, is how long the old limit
held on — the change's delay. Prints one JSON object.
"""

import json
import os
import subprocess
import sys
import time

MIB = 1024 * 1024
OLD, NEW = 5 * MIB, 2 * MIB


def wchar(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise SystemExit("no wchar in /proc/PID/io")


def shares(ferry, home):
    out = subprocess.run(
        [ferry, "--home", home, "queue", "list", "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {j["id"]: j["bytes_sent"] for j in json.loads(out)}


def main():
    pid, config, ferry, home = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    start = wchar(pid)
    deadline = time.time() + 30
    while wchar(pid) - start < 256 * 1024:
        if time.time() > deadline:
            raise SystemExit("the upload did not start within 30 s")
        time.sleep(0.05)
    time.sleep(3)

    a_jobs, a, t_a = shares(ferry, home), wchar(pid), time.monotonic()
    time.sleep(30)
    b_jobs, b, t_b = shares(ferry, home), wchar(pid), time.monotonic()
    rate = (b - a) / (t_b - t_a)
    per_job = sorted((b_jobs.get(i, 0) - a_jobs.get(i, 0)) / (t_b - t_a) for i in a_jobs)

    text = open(config).read()
    if 'bwlimit = "5M"' not in text:
        raise SystemExit('CONFIG has no bwlimit = "5M"')
    tmp = config + ".bench"
    with open(tmp, "w") as f:
        f.write(text.replace('bwlimit = "5M"', 'bwlimit = "2M"'))
    c, t_c = wchar(pid), time.monotonic()
    os.replace(tmp, config)
    time.sleep(10)
    d, t_d = wchar(pid), time.monotonic()
    surplus = (d - c) - NEW * (t_d - t_c)
    delay = max(0.0, surplus / (OLD - NEW))
    print(json.dumps({
        "rate_bps": rate,
        "target_bps": OLD,
        "seconds": t_b - t_a,
        "per_job_bps": per_job,
        "after_change_bps": (d - c) / (t_d - t_c),
        "change_delay_ms": delay * 1000,
    }))


if __name__ == "__main__":
    main()
