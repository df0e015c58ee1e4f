# Sourced by bench/desktop, bench/desktop-scale and bench/desktop-drop: what they measure
# the same way, and their small helpers.

# A free TCP port on 127.0.0.1; wait until something listens on port $1 (10 s at most).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
# PASS or MISS for an awk condition; the median of the arguments.
verdict() { awk "BEGIN { print ($1) ? \"PASS\" : \"MISS\" }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# PID → "rss_kib pss_kib" summed over it and its descendants (the app and WebKit's
# processes): RSS counts shared libraries once per process, PSS once in all.
tree_mem() {
  local pids=("$1") i=0 rss=0 pss=0 p c
  while ((i < ${#pids[@]})); do
    for c in $(pgrep -P "${pids[$i]}" || true); do pids+=("$c"); done
    i=$((i + 1))
  done
  for p in "${pids[@]}"; do
    rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    pss=$((pss + $(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$rss $pss"
}

# The platform's floor: a blank WebKitGTK page in a 20-line Python/GTK program (no Ferry
# code, bench/webkit-floor.py), with the app's rendering setting, idle 7 s. Prints
# "rss_mib pss_mib"; LOG is where its stderr goes.
blank_floor() {
  local log=$1 pid rss pss
  WEBKIT_DISABLE_COMPOSITING_MODE=${WEBKIT_DISABLE_COMPOSITING_MODE:-1} "$ROOT/bench/webkit-floor.py" 20 2> "$log" &
  pid=$!
  sleep 7
  read -r rss pss < <(tree_mem "$pid")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ $rss -le 0 ]]; then
    echo "the blank WebKitGTK page did not run: $(tail -3 "$log")" >&2
    return 1
  fi
  echo "$((rss / 1024)) $((pss / 1024))"
}
