//! Whether a process tree itself listens on a port: what tells a new instance apart from
//! an old one sharing its port (`SO_REUSEPORT`) during a reload, where a TCP or HTTP
//! probe alone would be answered by whichever instance the kernel picks.

use std::collections::HashSet;

use super::ports::{listening_sockets, socket_inode};
use super::tree::descendants_from_children_lists;

/// Whether `root` or one of its descendants holds a listening TCP socket on `port` (any
/// address, IPv4 or IPv6). False when it cannot be told (sockets or descriptors
/// unreadable): the caller then waits, which is the safe side for a reload.
pub fn tree_listens_on(root: u32, port: u16) -> bool {
    let Ok(sockets) = listening_sockets() else {
        return false;
    };
    let wanted: HashSet<u64> = sockets
        .iter()
        .filter(|s| s.port == port && s.protocol.is("tcp"))
        .map(|s| s.inode)
        .collect();
    if wanted.is_empty() {
        return false;
    }
    let mut tree = vec![root];
    tree.extend(descendants_from_children_lists(root, false).unwrap_or_default());
    tree.iter().any(|pid| holds_any(*pid, &wanted))
}

/// Whether process `pid` has one of the socket inodes `wanted` open.
fn holds_any(pid: u32, wanted: &HashSet<u64>) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            use std::os::unix::ffi::OsStrExt as _;
            socket_inode(target.as_os_str().as_bytes()).is_some_and(|i| wanted.contains(&i))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_whose_listener_it_is() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(tree_listens_on(std::process::id(), port));
        // A child of ours that does not hold it.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        // Until it has exec'd, the child holds a copy of every descriptor (the listener's
        // is close-on-exec): wait for `sleep` itself.
        let comm = format!("/proc/{}/comm", child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(&comm).map_or(true, |c| c.trim() != "sleep")
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!tree_listens_on(child.id(), port));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(listener);
        assert!(!tree_listens_on(std::process::id(), port));
    }
}
