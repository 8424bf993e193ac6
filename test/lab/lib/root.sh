# The recipe of the lab hosts' Debian root, and its cache. Any change to this file rebuilds the root.

ROOT_SUITE=bookworm
# cron: the installers' crontab trace is read by a real cron; e2fsprogs: chattr; python3-minimal: Ansible;
# sudo: soar reaching a host as a user who is not root; rpm: the package lookups of rpm-based hosts.
ROOT_PACKAGES=systemd,systemd-sysv,dbus,openssh-server,procps,nftables,iproute2,yara,python3-minimal,e2fsprogs,cron,sudo,rpm

root_cache_path() { echo "$CACHE_DIR/root-$(sha256sum "$LAB_LIB/root.sh" | cut -c1-16)"; }

# The machine's own Debian mirror for ROOT_SUITE (deb822 sources first, then sources.list).
machine_mirror() {
  local mirror=''
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    mirror=$(awk -v suite="$ROOT_SUITE" '
      function flush() {
        if (!found && uris != "" && index(" " suites " ", " " suite " ") > 0) { split(uris, u, " "); print u[1]; found = 1 }
        uris = ""; suites = ""
      }
      FNR == 1 || /^[[:space:]]*$/ { flush() }
      /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      END { flush() }' /etc/apt/sources.list.d/*.sources)
  fi
  if [[ -z $mirror && -f /etc/apt/sources.list ]]; then
    mirror=$(awk -v suite="$ROOT_SUITE" '$1 == "deb" { line = $0; sub(/\[[^]]*\][[:space:]]*/, "", line); split(line, f, /[[:space:]]+/); if (f[3] == suite) { print f[2]; exit } }' /etc/apt/sources.list)
  fi
  [[ -n $mirror ]] || die "no apt source for $ROOT_SUITE in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list: add one, then retry"
  echo "$mirror"
}

# Prints the cached root's path, building it first when the recipe changed. Caller holds the cache lock.
ensure_root() {
  local root build started
  root=$(root_cache_path)
  if [[ -d $root ]]; then
    log "root: cached $(basename "$root")"
    echo "$root"
    return 0
  fi
  started=$(now_ms)
  build="$root.build-$$"
  rm -rf "$root".build-*
  log "root: building $(basename "$root") with debootstrap (about a minute or two)"
  if ! debootstrap --variant=minbase --include="$ROOT_PACKAGES" "$ROOT_SUITE" "$build" "$(machine_mirror)" >"$CACHE_DIR/debootstrap.log" 2>&1; then
    rm -rf "$build"
    die "debootstrap failed; its log is $CACHE_DIR/debootstrap.log"
  fi
  configure_root "$build"
  # A rename is atomic: a killed build leaves only a .build-* directory, removed by the next build.
  mv -T "$build" "$root"
  remove_unused_roots "$root"
  log "root: built in $(since "$started")"
  echo "$root"
}

configure_root() {
  local root=$1
  # Every host gets its own key at boot time (in its upper layer), so pinning one means something.
  rm -f "$root"/etc/ssh/ssh_host_*
  cat >"$root/etc/ssh/sshd_config.d/soar-lab.conf" <<'EOF'
# soar lab host: one ed25519 host key per host, keys only, no DNS look-ups.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
  chroot "$root" systemctl enable ssh.service cron.service >/dev/null 2>&1
  # A second login with no authorized key, for "wrong user is refused" tests.
  chroot "$root" useradd --create-home --shell /bin/bash analyst
  # A login that is not root and may run anything as root through sudo without a password (sudo -n),
  # as fleets that forbid root logins set soar up; `up` gives it the lab's client key.
  chroot "$root" useradd --create-home --shell /bin/bash responder
  install -d -m 700 -o "$(chroot "$root" id -u responder)" -g "$(chroot "$root" id -g responder)" "$root/home/responder/.ssh"
  echo 'responder ALL=(root) NOPASSWD: ALL' >"$root/etc/sudoers.d/soar-responder"
  chmod 440 "$root/etc/sudoers.d/soar-responder"
  install -d -m 700 "$root/root/.ssh"
  # Each host gets its own machine id at `up` (dbus falls back to it); the host name comes from nspawn -M.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  rm -f "$root/etc/hostname"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
}

# Older recipes' roots, unless a lab still has one mounted as its lower layer.
remove_unused_roots() {
  local keep=$1 old
  for old in "$CACHE_DIR"/root-*; do
    [[ -d $old && $old != "$keep" && $old != *.build-* ]] || continue
    findmnt -rn -t overlay -o OPTIONS | grep -qF "lowerdir=$old" && continue
    log "root: removing unused $(basename "$old")"
    rm -rf "$old"
  done
}
