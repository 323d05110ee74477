//! What the real node changes on the machine, and how it is put back.
//!
//! A node touches machine-wide state: addresses on `lo`, the `cni0` bridge and
//! pod veths, iptables chains (kubelet's `KUBE-*`, kube-proxy's `KUBE-*`, the
//! CNI plugins' `CNI-*`), a few sysctls (`ip_forward`, kubelet's `vm.*` and
//! `kernel.*`, kube-proxy's `route_localnet`), mounts (pod volumes, network
//! namespaces, container root file systems), cgroups (`kubepods`) and
//! directories. [`HostSnapshot`] records that state before the node starts;
//! [`HostSnapshot::restore`] removes what the node added, and [`sweep`] removes
//! what an earlier run that was killed (no drop ran) left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::layout::{CNI_BRIDGE, DNS_IP, NODE_IP, PRIVATE_DIRS, SHARED_DIRS};

/// Sysctls that kubelet, kube-proxy or the bridge CNI plugin may write.
const SYSCTLS: &[&str] = &[
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/ipv6/conf/all/forwarding",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

/// Top-level cgroups the node's components create under every controller.
const CGROUPS: &[&str] = &["kubepods", "docker"];

/// The machine's state before the node started, as far as the node changes it.
pub(crate) struct HostSnapshot {
    sysctls: BTreeMap<&'static str, String>,
    /// Which of [`SHARED_DIRS`] existed.
    existing_shared_dirs: Vec<PathBuf>,
    /// nftables tables (`family name`) that existed.
    tables: Vec<String>,
    /// Top-level cgroup directories that existed (`/sys/fs/cgroup/<ctrl>/<name>`).
    cgroups: Vec<PathBuf>,
}

impl HostSnapshot {
    pub(crate) fn take() -> HostSnapshot {
        let sysctls = SYSCTLS
            .iter()
            .filter_map(|key| {
                let value = std::fs::read_to_string(sysctl_path(key)).ok()?;
                Some((*key, value.trim().to_owned()))
            })
            .collect();
        HostSnapshot {
            sysctls,
            existing_shared_dirs: SHARED_DIRS
                .iter()
                .map(PathBuf::from)
                .filter(|dir| dir.exists())
                .collect(),
            tables: nft_tables(),
            cgroups: node_cgroups(),
        }
    }

    /// Removes what the node added and writes back the recorded sysctls.
    /// Best effort: every step runs even if an earlier one failed.
    pub(crate) fn restore(&self) {
        sweep();
        for dir in SHARED_DIRS.iter().map(Path::new) {
            if !self.existing_shared_dirs.iter().any(|kept| kept == dir) {
                remove_dir(dir);
            }
        }
        for table in nft_tables() {
            if !self.tables.contains(&table) {
                let mut args = vec!["delete", "table"];
                args.extend(table.split_whitespace());
                run_quietly("nft", &args);
            }
        }
        for cgroup in node_cgroups() {
            if !self.cgroups.contains(&cgroup) {
                remove_cgroup_tree(&cgroup);
            }
        }
        for (key, value) in &self.sysctls {
            let _ = std::fs::write(sysctl_path(key), format!("{value}\n"));
        }
    }
}

/// Removes everything a node leaves behind, whether it stopped cleanly or
/// not: mounts under its directories, the bridge and its veths, the node's
/// addresses on `lo`, its iptables chains and its directories. Touches only
/// names the node owns (`cni0`, `KUBE-*`, `CNI-*`, the flinkrs-kube-node
/// directories), so it is safe to run before a node starts.
pub(crate) fn sweep() {
    unmount_under(&mount_prefixes());
    for veth in bridge_members(CNI_BRIDGE) {
        run_quietly("ip", &["link", "delete", &veth]);
    }
    run_quietly("ip", &["link", "delete", CNI_BRIDGE]);
    for address in [NODE_IP, DNS_IP] {
        let cidr = format!("{address}/32");
        if lo_has_address(address) {
            run_quietly("ip", &["addr", "delete", &cidr, "dev", "lo"]);
        }
    }
    for tool in ["iptables", "ip6tables"] {
        remove_node_chains(tool);
    }
    for dir in PRIVATE_DIRS {
        remove_dir(Path::new(dir));
    }
}

fn sysctl_path(key: &str) -> PathBuf {
    Path::new("/proc/sys").join(key)
}

/// Mount points to remove: the node's own directories, the network namespaces
/// containerd's CNI created, and dockerd's data root.
fn mount_prefixes() -> Vec<String> {
    let mut prefixes: Vec<String> = PRIVATE_DIRS.iter().map(|dir| format!("{dir}/")).collect();
    prefixes.push("/run/netns/cni-".to_owned());
    prefixes.push("/run/flinkrs-kube-node".to_owned());
    // dockerd mounts its data root on itself, and leaves that mount behind
    // when it is killed.
    prefixes.push(super::images::docker_data_root().display().to_string());
    prefixes
}

/// Unmounts every mount point that starts with one of `prefixes`, deepest first.
fn unmount_under(prefixes: &[String]) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut targets: Vec<String> = mounts
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mount_path)
        .filter(|target| prefixes.iter().any(|prefix| target.starts_with(prefix)))
        .collect();
    targets.sort();
    targets.dedup();
    for target in targets.iter().rev() {
        if !run_quietly("umount", &[target.as_str()]) {
            run_quietly("umount", &["-l", target.as_str()]);
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_mount_path(raw: &str) -> String {
    raw.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn bridge_members(bridge: &str) -> Vec<String> {
    let dir = Path::new("/sys/class/net").join(bridge).join("brif");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn lo_has_address(address: &str) -> bool {
    output_of("ip", &["-o", "-4", "addr", "show", "dev", "lo"])
        .is_some_and(|text| text.contains(&format!("inet {address}/32 ")))
}

/// Deletes, in every table, the rules that jump to a `KUBE-*` or `CNI-*`
/// chain, then those chains themselves.
fn remove_node_chains(tool: &str) {
    for table in ["filter", "nat", "mangle"] {
        let Some(rules) = output_of(tool, &["-t", table, "-S"]) else {
            continue;
        };
        let owned = |chain: &str| chain.starts_with("KUBE-") || chain.starts_with("CNI-");
        for rule in rules.lines().filter_map(|line| line.strip_prefix("-A ")) {
            let words = shell_words(rule);
            let Some(chain) = words.first() else { continue };
            let jumps_to_owned = words
                .windows(2)
                .any(|pair| (pair[0] == "-j" || pair[0] == "-g") && owned(&pair[1]));
            if !owned(chain) && jumps_to_owned {
                let mut args = vec!["-t".to_owned(), table.to_owned(), "-D".to_owned()];
                args.extend(words);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run_quietly(tool, &args);
            }
        }
        let chains: Vec<String> = rules
            .lines()
            .filter_map(|line| line.strip_prefix("-N "))
            .map(|chain| chain.trim().to_owned())
            .filter(|chain| owned(chain))
            .collect();
        for chain in &chains {
            run_quietly(tool, &["-t", table, "-F", chain]);
        }
        for chain in &chains {
            run_quietly(tool, &["-t", table, "-X", chain]);
        }
    }
}

/// Splits an `iptables -S` rule into words, keeping "quoted comments" whole.
fn shell_words(rule: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// `family name` of every nftables table (iptables-nft keeps its rules there).
fn nft_tables() -> Vec<String> {
    output_of("nft", &["list", "tables"])
        .map(|text| {
            text.lines()
                .filter_map(|line| line.strip_prefix("table "))
                .map(|table| table.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn node_cgroups() -> Vec<PathBuf> {
    let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for controller in controllers.filter_map(|entry| entry.ok()) {
        for name in CGROUPS {
            let dir = controller.path().join(name);
            if dir.is_dir() {
                found.push(dir);
            }
        }
    }
    found
}

/// rmdir of a cgroup tree, children first (cgroup directories hold no files
/// that can be deleted; an empty cgroup is removed with rmdir).
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(|entry| entry.ok()) {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

fn remove_dir(dir: &Path) {
    if dir.exists() {
        let _ = std::fs::remove_dir_all(dir);
        if dir.exists() {
            // A mount point that would not unmount, or a busy namespace file.
            run_quietly("umount", &["-l", &dir.display().to_string()]);
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub(crate) fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

pub(crate) fn run_quietly(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_words_keep_quoted_comments_whole() {
        let words = shell_words(
            r#"FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD"#,
        );
        assert_eq!(
            words,
            [
                "FORWARD",
                "-m",
                "comment",
                "--comment",
                "CNI firewall plugin rules",
                "-j",
                "CNI-FORWARD"
            ]
        );
    }

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/a\\040b\\134c"), "/a b\\c");
    }
}
