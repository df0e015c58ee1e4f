#!/usr/bin/env python3
"""Write N files of 10-200 KiB into a folder as fast as the disk allows (PNG-headed, each
different), then follow Ferry's journal until every file is uploaded. Prints one JSON
line: files written, jobs, distinct files taken, duplicates, missed, seconds from the last
file written to the last job queued, and seconds until all were uploaded."""
import json, os, random, sqlite3, sys, time
from datetime import datetime

folder, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline_s = float(sys.argv[4]) if len(sys.argv) > 4 else 600
rng = random.Random(7)
pool = os.urandom(200 * 1024)
header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
for i in range(n):
    size = rng.randint(10 * 1024, 200 * 1024)
    with open(os.path.join(folder, f"img{i:05d}.png"), "wb") as f:
        f.write(header + i.to_bytes(4, "little") + pool[: size - len(header) - 4])
last_write = time.time()

def ts(s):
    return datetime.fromisoformat(s).timestamp()

con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
start = time.time()
while True:
    rows = con.execute("SELECT input, status, created_at FROM jobs WHERE origin LIKE 'watch:%'").fetchall()
    done = sum(1 for r in rows if r[1] == "succeeded")
    if done >= n or time.time() - start > deadline_s:
        break
    time.sleep(0.2)
all_done = time.time() - last_write
inputs = [r[0] for r in rows]
distinct = len(set(inputs))
last_queued = max((ts(r[2]) for r in rows), default=last_write)
print(json.dumps({
    "written": n,
    "jobs": len(rows),
    "succeeded": done,
    "taken": distinct,
    "duplicates": len(inputs) - distinct,
    "missed": n - distinct,
    "last_write_to_last_queued_s": round(last_queued - last_write, 2),
    "all_uploaded_s": round(all_done, 1),
}))
