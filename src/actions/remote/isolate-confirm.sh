# isolate-confirm RUN_ID: management access was proven over a new connection; disarm this run's
# revert timer so that the isolation stays until an approved release.
run=$1
case $run in '' | *[!a-z0-9-]*) fail "refused run id" 64 ;; esac
# Disarm first, then look: a timer firing between a look and a disarm would go unnoticed.
for timer in $(systemctl list-units --plain --no-legend --all "soar-revert-${run}_*.timer" | awk '{ print $1 }'); do
  systemctl stop "$timer" >/dev/null 2>&1 || fail "cannot stop the revert timer $timer" 1
  emit disarmed "$timer"
done
[ "$(isolation_state)" = present ] || fail "the isolation table is gone or was changed (reverted?): run isolate again" 1
emit confirmed 1
emit done 1
