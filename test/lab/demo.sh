#!/usr/bin/env bash
# soar's demo: one real infected host, the example alert, the mining-service playbook, end to end.
# Boots a lab host (Debian 12 with systemd, sshd, nftables) with a harmless miner stand-in, plans
# and runs the response with a named demo analyst's approvals (or asks you, at a terminal), then
# shows the host clean and isolated, the audit trail, and tears the lab down.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${SOAR_SHARED_DIR:-$repo/../shared}
lab_id=${SOAR_DEMO_LAB:-9}
work=$(mktemp -d /tmp/soar-demo.XXXXXX)
lab="$work/lab"
host="lab$lab_id-h1"
soar() { node "$repo/bin/soar.js" "$@"; }
title() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
on_host() { bash "$repo/test/lab/lab.sh" exec --dir "$lab" "$host" -- "$@"; }

cleanup() {
  title "Tearing the lab down"
  bash "$repo/test/lab/lab.sh" down --dir "$lab" --lab "$lab_id" || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -f "$repo/dist/soar.js" ] || (cd "$repo" && npm run build --silent)

title "Booting an infected lab host ($host)"
mkdir -p "$lab"
bash "$repo/test/lab/lab.sh" up --dir "$lab" --hosts 1 --lab "$lab_id"
bash "$repo/test/lab/lab.sh" infect --dir "$lab" "$host" c3pool_miner.service --staging
on_host systemctl --no-pager status c3pool_miner.service | head -n 5

# The SOC's config: the lab's inventory (pinned host key, client key) plus an approver.
sed -e "s#^known_hosts: #known_hosts: lab/#" -e "s#identity_file: #identity_file: lab/#" "$lab/inventory.yaml" >"$work/soar.yaml"
printf 'approvers:\n  demo-analyst: { roles: [responder] }\n' >>"$work/soar.yaml"
# The example alert, about this host.
node -e '
  const [file, host, out] = process.argv.slice(1);
  const hit = JSON.parse(require("fs").readFileSync(file, "utf8"));
  hit._source.host.name = host; hit._source.host.hostname = host;
  require("fs").writeFileSync(out, JSON.stringify(hit, null, 1));
' "$shared/fixtures/alerts/example-c3pool-miner.hit.json" "$host" "$work/alert.json"

cd "$work"
title "soar plan: what the response will run (nothing is executed)"
soar plan --alert alert.json --config soar.yaml

title "soar run"
export SOAR_STORE="$work/soar.db"
if [ -t 0 ] && [ -z "${CI:-}" ]; then
  echo "(you are the analyst: answer each gate as demo-analyst)"
  soar run --alert alert.json --config soar.yaml || true
else
  soar run --alert alert.json --config soar.yaml --approve-as demo-analyst --reason "demo: miner confirmed by triage" || true
fi
run=$(soar status --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s)[0].run))')

title "The host afterwards (read without SSH)"
on_host sh -c '
  echo "unit load state:   $(systemctl show -p LoadState --value c3pool_miner.service)"
  echo "miner processes:   $(for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /root/c3pool/xmrig ] && echo $p; done | wc -l)"
  echo "isolation table:   $(nft list table inet soar_isolation >/dev/null 2>&1 && echo in place || echo absent)"
  echo "quarantine:"; find /var/lib/soar/quarantine -type f | sed "s/^/  /"
  echo "manifest:"; cat /var/lib/soar/quarantine/*/MANIFEST.sha256 | sed "s/^/  /"'
if ip netns exec "soar$lab_id-out" timeout 3 bash -c "exec 3<>/dev/tcp/198.18.$lab_id.2/22" 2>/dev/null; then
  echo "outsider → host:22: connected (NOT isolated)"
else
  echo "outsider → host:22: refused (isolated)"
fi

title "The audit trail: soar audit show $run"
soar audit show "$run"

title "soar audit verify"
soar audit verify
