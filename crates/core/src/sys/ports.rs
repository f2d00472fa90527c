//! Listening sockets and the processes that hold them (what `ss -ltnup` shows).
//!
//! Sockets come from a `NETLINK_SOCK_DIAG` dump filtered on state (see [`super::sock_diag`]
//! for why), or from `/proc/net/{tcp,tcp6,udp,udp6}` where netlink is unavailable; owners
//! are found by matching socket inodes against every process's `/proc/PID/fd` links (as
//! `ss -p` does), so a socket shared by forked workers lists every holder.

use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use procfs::net::{TcpState, UdpState};
use rustix::fs::{Dir, Mode, OFlags, RawDir, openat, readlinkat};
use serde::{Deserialize, Serialize};

use super::sock_diag::SockDiag;
use super::users::UserCache;
use crate::error::{Error, Result};

/// Transport protocol and address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP over IPv4.
    Tcp,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv4.
    Udp,
    /// UDP over IPv6.
    Udp6,
}

impl Protocol {
    /// Lower-case name (`tcp`, `tcp6`, `udp`, `udp6`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Tcp6 => "tcp6",
            Protocol::Udp => "udp",
            Protocol::Udp6 => "udp6",
        }
    }
}

/// A process holding a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortProcess {
    /// Its PID.
    pub pid: u32,
    /// Its short name.
    pub name: String,
}

/// A listening TCP socket or a bound UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortInfo {
    /// Protocol and family.
    pub protocol: Protocol,
    /// Local address (`0.0.0.0` / `::` for every interface).
    pub local_address: String,
    /// Local port.
    pub port: u16,
    /// First process holding the socket (lowest PID); `None` when it cannot be seen
    /// (another user's process while not root, or another PID namespace).
    pub pid: Option<u32>,
    /// That process's name.
    pub process_name: Option<String>,
    /// Owner of the socket.
    pub user: String,
    /// Owner's uid.
    pub uid: u32,
    /// Every process holding the socket (forked servers share one).
    pub processes: Vec<PortProcess>,
    /// Socket inode, which ties the socket to `/proc/PID/fd`.
    pub inode: u64,
}

impl Protocol {
    /// Whether this socket's protocol is `family` (`tcp` or `udp`, either IP version;
    /// an exact name such as `tcp6`; or empty for any).
    pub fn is(self, family: &str) -> bool {
        match family {
            "" => true,
            "tcp" => matches!(self, Protocol::Tcp | Protocol::Tcp6),
            "udp" => matches!(self, Protocol::Udp | Protocol::Udp6),
            exact => self.as_str() == exact,
        }
    }
}

/// The sockets on `port` (of protocol `family`, see [`Protocol::is`]) and the sorted,
/// distinct PIDs holding them: what a kill by port signals. No socket is
/// [`Error::NoListener`]; sockets whose holders cannot be seen are
/// [`Error::HiddenListener`].
pub fn port_holders(port: u16, family: &str) -> Result<(Vec<PortInfo>, Vec<u32>)> {
    let sockets: Vec<PortInfo> = get_ports()?
        .into_iter()
        .filter(|p| p.port == port && p.protocol.is(family))
        .collect();
    let Some(first) = sockets.first() else {
        return Err(Error::NoListener { port });
    };
    let mut pids: Vec<u32> = sockets
        .iter()
        .flat_map(|s| s.processes.iter().map(|h| h.pid))
        .collect();
    if pids.is_empty() {
        return Err(Error::HiddenListener {
            port,
            owner: first.user.clone(),
        });
    }
    pids.sort_unstable();
    pids.dedup();
    Ok((sockets, pids))
}

/// Every listening TCP/TCP6 socket and bound UDP/UDP6 socket, sorted by port.
pub fn get_ports() -> Result<Vec<PortInfo>> {
    let mut sockets = listening_sockets()?;
    let owners = socket_owners(&sockets.iter().map(|s| s.inode).collect());
    let mut users = UserCache::default();
    for port in &mut sockets {
        if let Some(holders) = owners.get(&port.inode) {
            let mut holders = holders.clone();
            holders.sort_by_key(|h| h.pid);
            port.pid = holders.first().map(|h| h.pid);
            port.process_name = holders.first().map(|h| h.name.clone());
            port.processes = holders;
        }
        port.user = users.name(port.uid).to_owned();
    }
    sockets.sort_by(|a, b| {
        (a.port, a.protocol, &a.local_address).cmp(&(b.port, b.protocol, &b.local_address))
    });
    Ok(sockets)
}

pub(super) fn listening_sockets() -> Result<Vec<PortInfo>> {
    let mut diag = SockDiag::open().ok();
    let mut out = Vec::new();
    for protocol in [Protocol::Tcp, Protocol::Tcp6, Protocol::Udp, Protocol::Udp6] {
        match diag.as_mut().map(|d| d.listeners(protocol)) {
            Some(Ok(found)) => {
                let rows = found.into_iter();
                out.extend(rows.map(|l| socket(protocol, l.local, l.uid, l.inode)));
                continue;
            }
            // Refused (say `udp_diag` is missing) or broken off: this table from /proc, and
            // a fresh socket for the next, as the old one may hold the rest of a dump.
            Some(Err(_)) => diag = SockDiag::open().ok(),
            None => {}
        }
        out.extend(proc_net_table(protocol)?);
    }
    Ok(out)
}

/// The sockets of one `/proc/net` table, for when sock_diag is unavailable.
fn proc_net_table(protocol: Protocol) -> Result<Vec<PortInfo>> {
    let tcp = |read: TcpTable| -> Result<Vec<PortInfo>> {
        Ok(read_table(protocol, read)?
            .into_iter()
            .filter(|e| e.state == TcpState::Listen)
            .map(|e| socket(protocol, e.local_address, e.uid, e.inode))
            .collect())
    };
    // An unconnected bound UDP socket shows as CLOSE (ss calls it UNCONN).
    let udp = |read: UdpTable| -> Result<Vec<PortInfo>> {
        Ok(read_table(protocol, read)?
            .into_iter()
            .filter(|e| e.state == UdpState::Close)
            .map(|e| socket(protocol, e.local_address, e.uid, e.inode))
            .collect())
    };
    match protocol {
        Protocol::Tcp => tcp(procfs::net::tcp),
        Protocol::Tcp6 => tcp(procfs::net::tcp6),
        Protocol::Udp => udp(procfs::net::udp),
        Protocol::Udp6 => udp(procfs::net::udp6),
    }
}

type TcpTable = fn() -> procfs::ProcResult<Vec<procfs::net::TcpNetEntry>>;
type UdpTable = fn() -> procfs::ProcResult<Vec<procfs::net::UdpNetEntry>>;

/// Reads one `/proc/net` table; a kernel without IPv6 has no `tcp6`, which means "no
/// sockets", not an error.
fn read_table<T>(protocol: Protocol, read: fn() -> procfs::ProcResult<Vec<T>>) -> Result<Vec<T>> {
    match read() {
        Ok(entries) => Ok(entries),
        Err(procfs::ProcError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(Error::io(
            format!("cannot read /proc/net/{}", protocol.as_str()),
            std::io::Error::other(e),
        )),
    }
}

fn socket(protocol: Protocol, local: SocketAddr, uid: u32, inode: u64) -> PortInfo {
    PortInfo {
        protocol,
        local_address: local.ip().to_string(),
        port: local.port(),
        pid: None,
        process_name: None,
        user: String::new(),
        uid,
        processes: Vec::new(),
        inode,
    }
}

/// Maps each wanted socket inode to the processes holding it.
///
/// This is the hot path of `procward ports` (every fd of every process), so it makes the
/// same system calls `ss -p` does and no more: one listing of `/proc`, one of each
/// `/proc/PID/fd`, one `readlink` per descriptor, and a `comm` read only for processes
/// that hold a wanted socket. The walk is split across cores, which is what puts it ahead
/// of `ss` on a machine with more than one.
fn socket_owners(wanted: &HashSet<u64>) -> HashMap<u64, Vec<PortProcess>> {
    let mut owners: HashMap<u64, Vec<PortProcess>> = HashMap::new();
    if wanted.is_empty() {
        return owners;
    }
    let Ok(proc_fd) = rustix::fs::open("/proc", DIR_FLAGS, Mode::empty()) else {
        return owners;
    };
    let Ok(proc_dir) = Dir::read_from(&proc_fd) else {
        return owners;
    };
    let pids: Vec<u32> = proc_dir
        .flatten()
        .filter_map(|e| numeric_name(e.file_name()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let chunk = pids.len().div_ceil(workers).max(1);
    let found: Vec<(u64, PortProcess)> = std::thread::scope(|scope| {
        let handles: Vec<_> = pids
            .chunks(chunk)
            .map(|part| scope.spawn(|| scan(&proc_fd, part, wanted)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (inode, holder) in found {
        let holders = owners.entry(inode).or_default();
        if !holders.iter().any(|h| h.pid == holder.pid) {
            holders.push(holder);
        }
    }
    owners
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

/// Scans the descriptors of `pids` for wanted sockets.
fn scan(proc_fd: &OwnedFd, pids: &[u32], wanted: &HashSet<u64>) -> Vec<(u64, PortProcess)> {
    let mut found = Vec::new();
    let mut path = String::with_capacity(16);
    let mut link = Vec::with_capacity(64);
    let mut entries = [MaybeUninit::<u8>::uninit(); 4096];
    for &pid in pids {
        path.clear();
        let _ = write!(path, "{pid}/fd");
        // Other users' processes are unreadable unless root: skipped, as ss does.
        let Ok(fd_dir) = openat(proc_fd, path.as_str(), DIR_FLAGS, Mode::empty()) else {
            continue;
        };
        let mut name: Option<String> = None;
        let mut fds = RawDir::new(&fd_dir, &mut entries);
        while let Some(Ok(entry)) = fds.next() {
            let Some(fd) = numeric_name(entry.file_name()) else {
                continue;
            };
            path.clear();
            let _ = write!(path, "{fd}");
            // Relative to the fd directory: one path component to resolve, not three.
            let Ok(target) = readlinkat(&fd_dir, path.as_str(), std::mem::take(&mut link)) else {
                continue;
            };
            let inode = socket_inode(target.as_bytes());
            link = target.into_bytes();
            let Some(inode) = inode.filter(|i| wanted.contains(i)) else {
                continue;
            };
            let name = name.get_or_insert_with(|| comm(proc_fd, pid)).clone();
            found.push((inode, PortProcess { pid, name }));
        }
    }
    found
}

fn numeric_name(name: &CStr) -> Option<u32> {
    std::str::from_utf8(name.to_bytes()).ok()?.parse().ok()
}

/// The inode in a `socket:[12345]` link target.
pub(super) fn socket_inode(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn comm(proc_fd: &OwnedFd, pid: u32) -> String {
    let Ok(fd) = openat(
        proc_fd,
        format!("{pid}/comm").as_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return String::from("?");
    };
    let mut buf = [0u8; 64];
    let n = rustix::io::read(&fd, &mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_own_tcp_and_udp_sockets() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let ports = get_ports().unwrap();
        let me = std::process::id();
        for (port, protocol) in [
            (tcp.local_addr().unwrap().port(), Protocol::Tcp),
            (udp.local_addr().unwrap().port(), Protocol::Udp),
        ] {
            let found = ports
                .iter()
                .find(|p| p.port == port && p.protocol == protocol)
                .unwrap_or_else(|| panic!("{protocol:?} port {port} not listed"));
            assert_eq!(found.pid, Some(me));
            assert_eq!(found.local_address, "127.0.0.1");
        }
    }

    #[test]
    fn finds_udp_on_ipv6_loopback_and_tcp_on_every_interface() {
        let tcp = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let ports = get_ports().unwrap();
        let me = Some(std::process::id());
        for (port, protocol, address) in [
            (tcp.local_addr().unwrap().port(), Protocol::Tcp, "0.0.0.0"),
            (udp.local_addr().unwrap().port(), Protocol::Udp6, "::1"),
        ] {
            assert!(
                ports.iter().any(|p| p.port == port
                    && p.protocol == protocol
                    && p.local_address == address
                    && p.pid == me
                    && p.inode != 0),
                "{protocol:?} {address} port {port} not listed"
            );
        }
    }

    #[test]
    fn proc_net_fallback_agrees_with_sock_diag() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp6 = std::net::TcpListener::bind("[::1]:0").unwrap();
        let udp = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        let udp6 = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let Ok(mut diag) = SockDiag::open() else {
            return; // no sock_diag here; the other tests exercise the fallback
        };
        for (protocol, local) in [
            (Protocol::Tcp, tcp.local_addr().unwrap()),
            (Protocol::Tcp6, tcp6.local_addr().unwrap()),
            (Protocol::Udp, udp.local_addr().unwrap()),
            (Protocol::Udp6, udp6.local_addr().unwrap()),
        ] {
            let ours = |p: &PortInfo| {
                (p.port == local.port()).then(|| (p.local_address.clone(), p.uid, p.inode))
            };
            let from_diag: Vec<_> = diag
                .listeners(protocol)
                .unwrap()
                .into_iter()
                .map(|l| socket(protocol, l.local, l.uid, l.inode))
                .filter_map(|p| ours(&p))
                .collect();
            let from_proc: Vec<_> = proc_net_table(protocol)
                .unwrap()
                .iter()
                .filter_map(ours)
                .collect();
            assert_eq!(from_diag.len(), 1, "{protocol:?} {local}");
            assert_eq!(from_diag, from_proc, "{protocol:?} {local}");
        }
    }

    #[test]
    fn socket_links_parse() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
    }

    #[test]
    fn connected_sockets_are_not_listed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let client_port = client.local_addr().unwrap().port();
        assert!(get_ports().unwrap().iter().all(|p| p.port != client_port));
    }
}
