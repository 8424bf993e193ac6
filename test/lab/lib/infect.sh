# Infecting a lab host with a fixture unit and the miner stand-in, and running programs inside hosts.

INFECT_TIMEOUT_S=20

# Runs ARGV inside host i as its root, in all its namespaces, without SSH.
exec_in_host() {
  local i=$1 leader
  shift
  leader=$(host_leader "$i") || die "$(host_name "$i") is not running (is the lab up?)"
  exec nsenter --target "$leader" --all -- \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# Installs UNIT on host i as the installers do, then waits until the pool sees the stand-in connect.
infect_host() {
  local i=$1 unit=$2 staging=$3 immutable=$4 install_dir unit_file unit_text standin opens deadline
  case $unit in
    c3pool_miner.service) install_dir=/root/c3pool ;;
    moneroocean_miner.service) install_dir=/root/moneroocean ;;
    *) die "unknown unit \"$unit\": use c3pool_miner.service or moneroocean_miner.service" ;;
  esac
  unit_file=$SHARED_DIR/fixtures/units/$unit
  [[ -f $unit_file ]] || die "no fixture $unit_file: set SOAR_SHARED_DIR to the shared/ directory"
  standin=$(standin_cache_path)
  [[ -x $standin ]] || die "no compiled stand-in at $standin: run lab.sh up first"
  # Command substitution strips trailing newlines: keep the fixture byte for byte.
  unit_text=$(cat "$unit_file" && printf x)
  unit_text=${unit_text%x}

  opens=$(pool_opens_from "$(host_address "$i")")
  (exec_in_host "$i" sh -c "$(<"$LAB_HOME/dropper.sh")" dropper "$unit" "$install_dir" "$unit_text" \
    "stratum+tcp://$(pool_address):${POOL_PORTS[0]}" "$staging" "$immutable" <"$standin") ||
    die "installing $unit on $(host_name "$i") failed"

  deadline=$(($(now_ms) + INFECT_TIMEOUT_S * 1000))
  until (($(pool_opens_from "$(host_address "$i")") > opens)); do
    (($(now_ms) < deadline)) || die "$unit runs on $(host_name "$i") but the pool saw no connection within ${INFECT_TIMEOUT_S}s"
    sleep 0.1
  done
  log "$(host_name "$i"): $unit installed and connected to the pool"
}

pool_opens_from() {
  local count
  count=$(grep -cF "\"event\": \"open\", \"peer\": \"$1:" "$LAB_DIR/pool.log" 2>/dev/null) || true
  echo "${count:-0}"
}
