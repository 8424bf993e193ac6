# What `up` writes for its users: known_hosts, the soar inventory, and lab.json (read by lab.ts).

write_known_hosts() {
  local hosts=$1 i
  for ((i = 1; i <= hosts; i++)); do known_hosts_line "$i"; done >"$LAB_DIR/known_hosts"
}

# A soar config file (src/config/config.ts); relative paths resolve against its own directory.
write_inventory() {
  local hosts=$1 i
  {
    echo "# soar inventory of lab $LAB_ID, written by test/lab/lab.sh up"
    echo "known_hosts: known_hosts"
    echo "hosts:"
    for ((i = 1; i <= hosts; i++)); do
      echo "  $(host_name "$i"):"
      echo "    address: $(host_address "$i")"
      echo "    port: 22"
      echo "    user: root"
      echo "    identity_file: id_ed25519"
    done
    echo "isolation:"
    echo "  management:"
    for ((i = 1; i <= hosts; i++)); do echo "    - $(host_management_address "$i")"; done
    echo "  allow_out: []"
  } >"$LAB_DIR/inventory.yaml"
}

# LAB_DIR holds only [A-Za-z0-9._/+-] (checked by lab.sh), so it needs no JSON escaping. TIMINGS is optional JSON.
write_lab_json() {
  local hosts=$1 timings=${2:-null} i separator=''
  {
    echo "{"
    echo "  \"lab\": $LAB_ID,"
    echo "  \"dir\": \"$LAB_DIR\","
    echo "  \"configPath\": \"$LAB_DIR/inventory.yaml\","
    echo "  \"knownHostsPath\": \"$LAB_DIR/known_hosts\","
    echo "  \"identityFile\": \"$LAB_DIR/id_ed25519\","
    echo "  \"standin\": \"$(standin_cache_path)\","
    echo "  \"hosts\": ["
    for ((i = 1; i <= hosts; i++)); do
      printf '%s    {"name": "%s", "address": "%s", "managementAddress": "%s", "netns": "%s", "index": %d}' \
        "$separator" "$(host_name "$i")" "$(host_address "$i")" "$(host_management_address "$i")" "$(host_netns "$i")" "$i"
      separator=$',\n'
    done
    echo
    echo "  ],"
    echo "  \"pool\": {\"netns\": \"$(pool_netns)\", \"address\": \"$(pool_address)\", \"ports\": [$(IFS=,; echo "${POOL_PORTS[*]}")], \"logPath\": \"$LAB_DIR/pool.log\"},"
    echo "  \"outsider\": {\"netns\": \"$(outsider_netns)\", \"address\": \"$(outsider_address)\"},"
    echo "  \"timingsMs\": $timings"
    echo "}"
  } >"$LAB_DIR/lab.json.tmp"
  mv -f "$LAB_DIR/lab.json.tmp" "$LAB_DIR/lab.json"
}
