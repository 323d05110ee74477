//! What a TaskManager reports about its machine: host name, cores and memory.

/// This machine's host name, or `localhost` when it cannot be read.
pub(crate) fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The cores this process may use (its cgroup's limit, in a container).
pub(crate) fn cpu_cores() -> u32 {
    std::thread::available_parallelism()
        .map(|cores| u32::try_from(cores.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

/// The machine's physical memory in bytes (`MemTotal` of `/proc/meminfo`), or 0 where that is
/// not known.
pub(crate) fn physical_memory_bytes() -> u64 {
    let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") else {
        return 0;
    };
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}
