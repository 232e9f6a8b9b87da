//! This machine's identity as other processes see it: its host name, and which processes
//! share its loopback interface (the same kernel and network namespace).
//!
//! Read-only questions about the local machine; this module must not change anything.

/// This machine's host name (`gethostname`), or `"localhost"` if the system cannot tell.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most that many.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match String::from_utf8_lossy(&buf[..len]).trim() {
        "" => "localhost".into(),
        name => name.to_string(),
    }
}

/// Which processes share this process's loopback interface: `<boot id>/<network namespace>`
/// (processes on other machines, or in other network namespaces such as containers, cannot
/// reach its 127.0.0.1). Falls back to the host name where /proc does not tell.
pub fn loopback_scope() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id");
    let namespace = std::fs::read_link("/proc/self/ns/net");
    match (boot, namespace) {
        (Ok(boot), Ok(namespace)) => format!("{}/{}", boot.trim(), namespace.display()),
        _ => hostname(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_scope_names_kernel_and_namespace() {
        let scope = loopback_scope();
        assert_eq!(scope, loopback_scope(), "stable within a process");
        if std::path::Path::new("/proc/self/ns/net").exists() {
            assert!(scope.contains("/net:["), "{scope}");
        }
    }

    #[test]
    fn hostname_matches_the_kernel() {
        let name = hostname();
        assert!(!name.is_empty());
        // Linux exposes the same name here; other systems may not.
        if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            assert_eq!(name, kernel.trim());
        }
    }
}
