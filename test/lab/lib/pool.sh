# The pool: pool.py listening on the pool ports inside the pool namespace, logging to DIR/pool.log.

start_pool() {
  local ready=$LAB_DIR/run/pool.ready deadline
  rm -f "$ready"
  : >"$LAB_DIR/pool.log"
  # nsenter --net, not ip netns exec: a new mount namespace would pin copies of every lab's overlays.
  setsid nsenter --net="/run/netns/$(pool_netns)" "$MACHINE_PYTHON" "$LAB_HOME/pool.py" --log "$LAB_DIR/pool.log" --ready "$ready" \
    "${POOL_PORTS[@]}" </dev/null >"$LAB_DIR/logs/pool.py.log" 2>&1 &
  disown
  deadline=$(($(now_ms) + 10000))
  until [[ -s $ready ]]; do
    (($(now_ms) < deadline)) || die "the pool did not listen within 10s; its log: $LAB_DIR/logs/pool.py.log"
    sleep 0.05
  done
}
