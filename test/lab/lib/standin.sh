# The miner stand-in binary (standin/xmrig.c), compiled once per source change and cached beside the root.

standin_cache_path() {
  echo "$CACHE_DIR/xmrig-$(cat "$LAB_HOME/standin/xmrig.c" "$LAB_LIB/standin.sh" | sha256sum | cut -c1-16)"
}

# Prints the cached stand-in's path, compiling it first if needed. Caller holds the cache lock.
ensure_standin() {
  local binary
  binary=$(standin_cache_path)
  if [[ ! -x $binary ]]; then
    # Static, so that it runs in the host whatever its libc; a real ELF, so /proc/PID/exe and its sha256 mean something.
    gcc -static -O2 -Wall -Wextra -Werror -o "$binary.build-$$" "$LAB_HOME/standin/xmrig.c" >&2 ||
      die "cannot compile the miner stand-in (gcc -static needs libc6-dev)"
    mv -f "$binary.build-$$" "$binary"
    log "stand-in: compiled $(basename "$binary")"
  fi
  echo "$binary"
}
