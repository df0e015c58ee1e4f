#!/usr/bin/env python3
"""bench/io-of.py CMD...: run CMD (its stdout and stderr are this one's) and print, on fd 3,
`WALL_NS RCHAR READ_BYTES MAXRSS_KIB CPU_MS`: its wall time, the bytes it read through read
syscalls (files whether cached or not, sockets), the bytes it had the kernel read from
storage — its /proc/PID/io when it has exited and is not reaped yet (so nothing is
missed) — its peak RSS and its CPU time (user + system). Exits with CMD's status."""

import os
import subprocess
import sys
import time


def main():
    start = time.monotonic_ns()
    child = subprocess.Popen(sys.argv[1:])
    # Wait for the exit but leave the child a zombie: its counters are still readable.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    wall = time.monotonic_ns() - start
    io = {}
    with open(f"/proc/{child.pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            io[k] = int(v)
    _, status, usage = os.wait4(child.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    with os.fdopen(3, "w") as out:
        cpu_ms = round((usage.ru_utime + usage.ru_stime) * 1000)
        out.write(f"{wall} {io['rchar']} {io['read_bytes']} {usage.ru_maxrss} {cpu_ms}\n")
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
