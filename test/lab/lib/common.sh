# Shared by every lab.sh subcommand: logging, where things live, names and addresses, machine packages.
# Sourced by lab.sh (bash, set -euo pipefail); LAB_ID is set once the lab id is known.

LAB_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_HOME=$(dirname "$LAB_LIB")
REPO_ROOT=$(git -C "$LAB_HOME" rev-parse --show-toplevel 2>/dev/null || (cd "$LAB_HOME/../.." && pwd))
CACHE_DIR=${SOAR_LAB_CACHE:-$REPO_ROOT/.cache/lab}
SHARED_DIR=${SOAR_SHARED_DIR:-$REPO_ROOT/../shared}
# The /30 per host in 198.18.L.0/24 leaves room for 63 hosts per lab.
LAB_MAX_HOSTS=63
LAB_MAX_ID=63
POOL_PORTS=(3333 14444)
MACHINE_PYTHON=/usr/bin/python3

log() { printf '[lab%s] %s\n' "${LAB_ID-}" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }
# Seconds since a now_ms reading, with milliseconds: "1.234s".
since() { local ms=$(($(now_ms) - $1)); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }

is_uint() { [[ $1 =~ ^(0|[1-9][0-9]{0,2})$ ]]; }

# Names and addresses of lab L (RFC 2544 benchmarking range only). Host i is 1-based.
host_name() { echo "lab$LAB_ID-h$1"; }
host_netns() { echo "soar$LAB_ID-h$1"; }
host_veth() { echo "soar${LAB_ID}h$1"; }
host_address() { echo "198.18.$LAB_ID.$((4 * $1 - 2))"; }
host_management_address() { echo "198.18.$LAB_ID.$((4 * $1 - 3))"; }
host_dir() { echo "$LAB_DIR/hosts/$(host_name "$1")"; }
pool_netns() { echo "soar$LAB_ID-pool"; }
pool_veth() { echo "soar${LAB_ID}pool"; }
pool_gateway() { echo "198.19.$LAB_ID.1"; }
pool_address() { echo "198.19.$LAB_ID.2"; }
outsider_netns() { echo "soar$LAB_ID-out"; }
outsider_veth() { echo "soar${LAB_ID}out"; }
outsider_gateway() { echo "198.19.$LAB_ID.5"; }
outsider_address() { echo "198.19.$LAB_ID.6"; }

# "lab<L>-h<i>" → sets LAB_ID and HOST_INDEX, or dies.
parse_host_name() {
  [[ $1 =~ ^lab(0|[1-9][0-9]?)-h([1-9][0-9]?)$ ]] || die "\"$1\" is not a lab host name (lab<L>-h<i>, e.g. lab0-h1)"
  LAB_ID=${BASH_REMATCH[1]}
  HOST_INDEX=${BASH_REMATCH[2]}
}

# Installs the Debian packages this machine lacks (a fresh machine has neither debootstrap nor nspawn).
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing on this machine: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The lab id recorded in DIR/lab.json, if there is one.
recorded_lab_id() {
  [[ -f $1/lab.json ]] || return 0
  "$MACHINE_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["lab"])' "$1/lab.json" 2>/dev/null || true
}
