# isolate-verify: read-only; is soar's isolation table in place as applied, and is any revert timer armed?
emit table "$(isolation_state)"
armed=$(systemctl list-units --plain --no-legend --state=active 'soar-revert-*.timer' | awk '{ print $1 }')
for timer in $armed; do emit armed "$timer"; done
if [ -n "$armed" ]; then emit revert_timer armed; else emit revert_timer disarmed; fi
emit done 1
