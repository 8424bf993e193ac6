// soar's YARA rules for the miners its playbooks respond to. Written by the soar project from
// public indicators (xmrig's strings and config keys, the Stratum pool protocol, pool domains,
// the C3Pool/MoneroOcean installers' file names); they match files, not memory.

rule soar_xmrig_binary
{
    meta:
        description = "XMRig miner binary (or a build of it)"
    strings:
        $donate = "donate.v2.xmrig.com" ascii
        $name = "xmrig" ascii nocase
        $algo1 = "randomx" ascii nocase
        $algo2 = "cryptonight" ascii nocase
        $stratum = "stratum+tcp://" ascii
    condition:
        uint32(0) == 0x464c457f and ($donate or ($name and 1 of ($algo*)) or ($stratum and 1 of ($algo*)))
}

rule soar_stratum_client
{
    meta:
        description = "Program speaking the Stratum mining protocol: JSON-RPC login and keepalived calls to a pool"
    strings:
        $rpc = "jsonrpc" ascii
        $login = "login" ascii fullword
        $keepalived = "keepalived" ascii fullword
    condition:
        uint32(0) == 0x464c457f and all of them
}

rule soar_xmrig_config
{
    meta:
        description = "XMRig JSON configuration naming a mining pool"
    strings:
        $pools = "\"pools\"" ascii
        $url = "\"url\"" ascii
        $algo = "\"rx/0\"" ascii
        $stratum = "stratum+" ascii
        $domain1 = "moneroocean.stream" ascii
        $domain2 = "c3pool.com" ascii
        $domain3 = "c3pool.org" ascii
        $domain4 = "supportxmr.com" ascii
        $domain5 = "nanopool.org" ascii
        $domain6 = "hashvault.pro" ascii
    condition:
        filesize < 1MB and $pools and $url and ($algo or $stratum or any of ($domain*))
}

rule soar_miner_installer
{
    meta:
        description = "C3Pool/MoneroOcean style installer or launcher script"
    strings:
        $a = "c3pool_miner.service" ascii
        $b = "moneroocean_miner.service" ascii
        $c = "config_background.json" ascii
        $d = "miner.sh" ascii
        $e = "vm.nr_hugepages" ascii
        $f = "xmrig" ascii
    condition:
        filesize < 256KB and 2 of them
}
