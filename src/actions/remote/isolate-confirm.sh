# isolate-confirm RUN_ID: management access was proven over a new connection; disarm the revert
# timer so the isolation stays until an approved release.
run=$1
case $run in '' | *[!a-z0-9-]*) fail "refused run id" 64 ;; esac
nft list table inet soar_isolation >/dev/null 2>&1 || fail "isolation table is gone (reverted?)" 1
systemctl stop "soar-revert-$run.timer" >/dev/null 2>&1
systemctl is-active --quiet "soar-revert-$run.timer" && fail "revert timer still armed" 1
emit confirmed 1
emit done 1
