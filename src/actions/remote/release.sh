# release: remove soar's isolation table and any armed revert timer.
for timer in $(systemctl list-units --plain --no-legend 'soar-revert-*.timer' 2>/dev/null | awk '{ print $1 }'); do
  systemctl stop "$timer" >/dev/null 2>&1 && emit disarmed "$timer"
done
if nft list table inet soar_isolation >/dev/null 2>&1; then
  nft delete table inet soar_isolation || fail "cannot delete the isolation table" 1
  emit released 1
else
  emit released 0
fi
emit done 1
