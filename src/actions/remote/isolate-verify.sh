# isolate-verify RUN_ID: read-only; is soar's isolation table in place and the revert timer disarmed?
run=$1
case $run in '' | *[!a-z0-9-]*) fail "refused run id" 64 ;; esac
if nft list table inet soar_isolation >/dev/null 2>&1; then emit table present; else emit table absent; fi
if systemctl is-active --quiet "soar-revert-$run.timer"; then emit revert_timer armed; else emit revert_timer disarmed; fi
emit done 1
