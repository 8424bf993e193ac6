#!/usr/bin/env bash
# soar's lab: real Debian hosts (systemd, sshd, nftables) booted on this machine with systemd-nspawn.
#
#   lab.sh up     --dir DIR --hosts N [--lab L]    boot N hosts; write lab.json, inventory.yaml, known_hosts, id_ed25519
#   lab.sh down   --dir DIR [--lab L]              remove every process, mount, namespace and veth of lab L
#   lab.sh infect --dir DIR HOST UNIT [--staging] [--immutable]
#   lab.sh exec   --dir DIR HOST -- ARGV...        run ARGV inside HOST without SSH (exit 125: could not enter)
#   lab.sh prepare                                 build the cached root and stand-in only
#
# Must run as root. L is 0..63 and lets labs coexist; hosts are named lab<L>-h<i>.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$LAB_LIB/root.sh"
source "$LAB_LIB/standin.sh"
source "$LAB_LIB/network.sh"
source "$LAB_LIB/hosts.sh"
source "$LAB_LIB/pool.sh"
source "$LAB_LIB/inventory.sh"
source "$LAB_LIB/infect.sh"

MACHINE_PACKAGES=(debootstrap debian-archive-keyring systemd-container gcc libc6-dev openssh-client iproute2 nftables
  python3 e2fsprogs util-linux procps)

usage() { sed -n '3,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }

# Sets LAB_DIR from a --dir value; the character set keeps it safe in JSON, YAML and mount tables.
set_lab_dir() {
  [[ -n $1 ]] || die "--dir DIR is required"
  LAB_DIR=$(realpath -m -- "$1")
  [[ $LAB_DIR =~ ^/[A-Za-z0-9._/+-]*$ ]] || die "--dir must be a path of letters, digits and ._/+- only: $1"
  [[ $LAB_DIR != / ]] || die "--dir must not be /"
}

# up writes into DIR and down deletes from it: only into a new or empty directory, or one a lab made.
claim_lab_dir() {
  if [[ -d $LAB_DIR && ! -e $LAB_DIR/.soar-lab && -n $(ls -A "$LAB_DIR") ]]; then
    die "$LAB_DIR is neither empty nor a lab directory: choose a new or empty directory"
  fi
  mkdir -p "$LAB_DIR"
  touch "$LAB_DIR/.soar-lab"
}

set_lab_id() {
  is_uint "$1" && (($1 <= LAB_MAX_ID)) || die "--lab must be 0..$LAB_MAX_ID, not \"$1\""
  LAB_ID=$1
}

lock_cache() {
  mkdir -p "$CACHE_DIR"
  exec {CACHE_LOCK}>"$CACHE_DIR/.lock"
  flock "$CACHE_LOCK"
}

# Releases the lock and closes its descriptor, so that long-lived children never hold it.
unlock_cache() {
  flock -u "$CACHE_LOCK"
  exec {CACHE_LOCK}>&-
}

cmd_up() {
  local dir='' hosts='' lab=0 started phase root i
  declare -A took
  while (($#)); do
    case $1 in
      --dir) dir=${2-}; shift 2 ;;
      --hosts) hosts=${2-}; shift 2 ;;
      --lab) lab=${2-}; shift 2 ;;
      *) usage ;;
    esac
  done
  set_lab_id "$lab"
  set_lab_dir "$dir"
  is_uint "$hosts" && ((hosts >= 1 && hosts <= LAB_MAX_HOSTS)) || die "--hosts must be 1..$LAB_MAX_HOSTS, not \"$hosts\""
  ((EUID == 0)) || die "the lab needs root (namespaces, mounts, nspawn)"
  started=$(now_ms)

  claim_lab_dir
  ensure_packages "${MACHINE_PACKAGES[@]}"
  teardown
  # A failed or interrupted `up` leaves nothing behind (SOAR_LAB_KEEP=1 keeps it for a post-mortem).
  trap 'status=$?; if ((status != 0)) && [[ ${SOAR_LAB_KEEP-} != 1 ]]; then log "up failed: tearing down"; teardown; fi' EXIT
  mkdir -p "$LAB_DIR/hosts" "$LAB_DIR/run" "$LAB_DIR/logs"
  write_lab_json "$hosts"

  phase=$(now_ms)
  lock_cache
  root=$(ensure_root)
  ensure_standin >/dev/null
  took[cache]=$(($(now_ms) - phase))

  phase=$(now_ms)
  network_up "$hosts"
  took[network]=$(($(now_ms) - phase))

  phase=$(now_ms)
  rm -f "$LAB_DIR/id_ed25519" "$LAB_DIR/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C "soar-lab$LAB_ID" -f "$LAB_DIR/id_ed25519"
  for ((i = 1; i <= hosts; i++)); do prepare_host "$i" "$root"; done
  unlock_cache
  write_known_hosts "$hosts"
  write_inventory "$hosts"
  took[hosts]=$(($(now_ms) - phase))

  phase=$(now_ms)
  start_pool
  raise_inotify_limit
  for ((i = 1; i <= hosts; i++)); do boot_host "$i"; done
  wait_for_hosts "$hosts"
  took[boot]=$(($(now_ms) - phase))
  took[total]=$(($(now_ms) - started))

  write_lab_json "$hosts" "$(printf '{"cache": %d, "network": %d, "hosts": %d, "boot": %d, "total": %d}' \
    "${took[cache]}" "${took[network]}" "${took[hosts]}" "${took[boot]}" "${took[total]}")"
  log "up: $hosts hosts in $(since "$started") (cache ${took[cache]}ms, network ${took[network]}ms, overlays and keys ${took[hosts]}ms, boot until sshd answers ${took[boot]}ms)"
}

# Everything of lab LAB_ID, found by name; LAB_DIR's runtime parts if it is a lab directory. Idempotent.
teardown() {
  stop_hosts
  unmount_hosts
  network_down
  [[ -n ${LAB_DIR-} && -f $LAB_DIR/.soar-lab ]] || return 0
  if [[ -d $LAB_DIR/hosts ]] && findmnt -rn -o TARGET | grep -qF "$LAB_DIR/hosts/"; then
    log "something is still mounted under $LAB_DIR/hosts: leaving it in place"
    return 1
  fi
  # Upper layers may hold files a test made immutable.
  rm -rf "$LAB_DIR/hosts" 2>/dev/null || { chattr -R -f -i "$LAB_DIR/hosts" || true; rm -rf "$LAB_DIR/hosts"; }
  rm -rf "$LAB_DIR/run"
  rm -f "$LAB_DIR"/{lab.json,inventory.yaml,known_hosts,id_ed25519,id_ed25519.pub}
}

cmd_down() {
  local dir='' lab='' started
  while (($#)); do
    case $1 in
      --dir) dir=${2-}; shift 2 ;;
      --lab) lab=${2-}; shift 2 ;;
      *) usage ;;
    esac
  done
  set_lab_dir "$dir"
  set_lab_id "${lab:-$(recorded_lab_id "$LAB_DIR")}"
  started=$(now_ms)
  teardown
  log "down in $(since "$started")"
}

cmd_infect() {
  local dir='' host='' unit='' staging=0 immutable=0
  while (($#)); do
    case $1 in
      --dir) dir=${2-}; shift 2 ;;
      --staging) staging=1; shift ;;
      --immutable) immutable=1; shift ;;
      -*) usage ;;
      *) if [[ -z $host ]]; then host=$1; elif [[ -z $unit ]]; then unit=$1; else usage; fi; shift ;;
    esac
  done
  [[ -n $host && -n $unit ]] || usage
  set_lab_dir "$dir"
  parse_host_name "$host"
  infect_host "$HOST_INDEX" "$unit" "$staging" "$immutable"
}

cmd_exec() {
  local dir='' host=''
  # Failing to enter the host is 125, so that callers can tell it from the program's own exit status.
  trap 'status=$?; ((status == 0)) || exit 125' EXIT
  while (($#)); do
    case $1 in
      --dir) dir=${2-}; shift 2 ;;
      --) shift; break ;;
      -*) usage ;;
      *) [[ -z $host ]] || usage; host=$1; shift ;;
    esac
  done
  [[ -n $host && $# -gt 0 ]] || usage
  set_lab_dir "$dir"
  parse_host_name "$host"
  exec_in_host "$HOST_INDEX" "$@"
}

cmd_prepare() {
  ensure_packages "${MACHINE_PACKAGES[@]}"
  lock_cache
  ensure_root
  ensure_standin
  unlock_cache
}

case ${1-} in
  up | down | infect | exec | prepare) command=$1; shift; "cmd_$command" "$@" ;;
  *) usage ;;
esac
