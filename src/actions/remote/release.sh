# release: remove soar's isolation table and every armed revert timer. Twice is harmless.
for timer in $(systemctl list-units --plain --no-legend --all 'soar-revert-*.timer' | awk '{ print $1 }'); do
  systemctl stop "$timer" >/dev/null 2>&1 || fail "cannot stop the revert timer $timer" 1
  emit disarmed "$timer"
done
if nft list table inet soar_isolation >/dev/null 2>&1; then
  failed=$(nft delete table inet soar_isolation 2>&1) || fail "cannot delete the isolation table: $failed" 1
  emit released 1
else
  emit released 0
fi
rm -f /run/soar/isolation.listing /run/soar/isolation-*.nft
emit done 1
