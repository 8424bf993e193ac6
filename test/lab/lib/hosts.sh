# Lab hosts: an overlay over the cached root per host, its own host key, booted by systemd-nspawn.

BOOT_TIMEOUT_S=${SOAR_LAB_BOOT_TIMEOUT:-180}
STOP_GRACE_S=15

# Mounts host i's overlay; its own host key, machine id and the lab's client key go to its upper layer.
prepare_host() {
  local i=$1 root=$2 dir merged
  dir=$(host_dir "$i")
  merged=$dir/merged
  mkdir -p "$dir/upper" "$dir/work" "$merged"
  # The mount's source names the host, so that `down` finds it even without lab.json.
  mount -t overlay "$(host_netns "$i")" -o "lowerdir=$root,upperdir=$dir/upper,workdir=$dir/work" "$merged"
  ssh-keygen -q -t ed25519 -N '' -C "root@$(host_name "$i")" -f "$merged/etc/ssh/ssh_host_ed25519_key"
  { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; echo; } >"$merged/etc/machine-id"
  install -m 600 "$LAB_DIR/id_ed25519.pub" "$merged/root/.ssh/authorized_keys"
  install -m 600 -o "$(stat -c %u "$merged/home/responder/.ssh")" -g "$(stat -c %g "$merged/home/responder/.ssh")" "$LAB_DIR/id_ed25519.pub" "$merged/home/responder/.ssh/authorized_keys"
}

# Host i's known_hosts line: reachable by name or address, with exactly its own key.
known_hosts_line() {
  local key
  read -r key < <(cut -d' ' -f1,2 "$(host_dir "$1")/merged/etc/ssh/ssh_host_ed25519_key.pub")
  echo "$(host_name "$1"),$(host_address "$1") $key"
}

# Each booted systemd takes several inotify instances; the default 128 per user stops near 20 hosts.
raise_inotify_limit() {
  local current
  current=$(sysctl -n fs.inotify.max_user_instances)
  ((current >= 8192)) || sysctl -qw fs.inotify.max_user_instances=8192
}

# Boots host i in the background, in its own process group; -M comes last so that pgrep can anchor on it.
boot_host() {
  local i=$1 name
  name=$(host_name "$i")
  # Its own cgroup first: with --keep-unit (no systemd here) nspawn nests the host's tree under
  # its own cgroup, and hosts sharing one would share their units' cgroups.
  setsid bash -c 'for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
      [[ -d $hierarchy ]] && mkdir -p "$hierarchy/soar-lab/$1" && echo $$ >"$hierarchy/soar-lab/$1/cgroup.procs"
    done
    shift
    exec "$@"' host-cgroup "$name" \
    systemd-nspawn --quiet -D "$(host_dir "$i")/merged" --boot --register=no --keep-unit --link-journal=no \
    --capability=CAP_NET_ADMIN,CAP_LINUX_IMMUTABLE --network-namespace-path="/run/netns/$(host_netns "$i")" \
    -M "$name" </dev/null >"$LAB_DIR/logs/$name.log" 2>&1 &
  echo $! >"$LAB_DIR/run/$name.pid"
  disown
}

# Runs COMMAND on the host at ADDRESS over OpenSSH, trusting only the lab's known_hosts.
lab_ssh() {
  ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=2 -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes \
    -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o LogLevel=ERROR -i "$LAB_DIR/id_ed25519" "root@$1" "$2" </dev/null
}

# Returns once host i's sshd answers with the host's own key (StrictHostKeyChecking proves which key)
# and its boot has finished: before that, logins get pam_nologin's "System is booting up" on stderr.
wait_for_host() {
  local i=$1 deadline=$2 name pid state
  name=$(host_name "$i")
  pid=$(<"$LAB_DIR/run/$name.pid")
  until state=$(lab_ssh "$(host_address "$i")" 'systemctl is-system-running --wait' 2>/dev/null) || [[ $state == degraded ]]; do
    if ! is_running "$pid"; then
      log "$name: systemd-nspawn exited during boot; its log: $LAB_DIR/logs/$name.log"
      grep -v 'Failed to create symlink /sys/fs/cgroup' "$LAB_DIR/logs/$name.log" | tail -n 5 >&2 || true
      return 1
    fi
    if (($(now_ms) > deadline)); then
      log "$name: sshd did not answer with its key within ${BOOT_TIMEOUT_S}s; boot log: $LAB_DIR/logs/$name.log"
      return 1
    fi
    sleep 0.2
  done
  [[ $state == running ]] || log "$name: booted degraded (see systemctl --failed inside it)"
}

# Waits for hosts 1..N in parallel; fails if any host did not come up.
wait_for_hosts() {
  local hosts=$1 deadline i failed=0 waiters=()
  deadline=$(($(now_ms) + BOOT_TIMEOUT_S * 1000))
  for ((i = 1; i <= hosts; i++)); do
    wait_for_host "$i" "$deadline" &
    waiters+=($!)
  done
  for i in "${waiters[@]}"; do
    wait "$i" || failed=$((failed + 1))
  done
  ((failed == 0)) || die "$failed of $hosts hosts did not come up"
}

# A zombie (nobody reaps orphans on some machines) counts as gone.
is_running() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

lab_nspawn_pids() {
  pgrep -f "^systemd-nspawn .* -M lab$LAB_ID-h[0-9]+\$" || true
}

# Host i's init (PID 1 inside the container), found through its network namespace.
host_leader() {
  local pid
  for pid in $(namespace_pids "$(host_netns "$1")"); do
    if [[ $(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status" 2>/dev/null) == 1 ]]; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# SIGTERM makes nspawn power its container off; whatever is left after the grace period is killed.
stop_hosts() {
  local pids pid netns deadline
  pids=$(lab_nspawn_pids)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null || true
    deadline=$(($(now_ms) + STOP_GRACE_S * 1000))
    for pid in $pids; do
      while is_running "$pid" && (($(now_ms) < deadline)); do sleep 0.1; done
      if is_running "$pid"; then
        log "systemd-nspawn $pid did not stop within ${STOP_GRACE_S}s: killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  for netns in $(lab_namespaces); do
    # shellcheck disable=SC2046 # one pid per word
    kill -KILL $(namespace_pids "$netns") 2>/dev/null || true
  done
  remove_host_cgroups
}

# The hosts' own cgroups, deepest first. A cgroup stays busy until the machine's PID 1 reaps the
# host's last zombies, which can take a while: what is left now goes at the lab's next up or down.
remove_host_cgroups() {
  local cgroup
  for cgroup in /sys/fs/cgroup/{systemd,unified}/soar-lab/"lab$LAB_ID"-h*; do
    if [[ -d $cgroup ]]; then find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
}

# Every overlay of lab LAB_ID (by source name), and anything left mounted below it.
unmount_hosts() {
  local merged inner
  for merged in $(findmnt -rn -t overlay -o SOURCE,TARGET | awk -v pattern="^soar$LAB_ID-h[0-9]+\$" '$1 ~ pattern { print $2 }'); do
    for inner in $(findmnt -rn -o TARGET | grep -F "$merged/" | sort -r); do
      umount "$inner" 2>/dev/null || umount -l "$inner"
    done
    umount "$merged" 2>/dev/null || umount -l "$merged"
  done
}
