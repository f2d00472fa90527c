//! Listening sockets and the processes that hold them (what `ss -ltnup` shows).
//!
//! Sockets come from `/proc/net/{tcp,tcp6,udp,udp6}`; owners are found by matching socket
//! inodes against every process's `/proc/PID/fd` links (as `ss -p` does), so a socket
//! shared by forked workers lists every holder.

use std::collections::HashMap;
use std::net::SocketAddr;

use procfs::net::{TcpState, UdpState};
use serde::{Deserialize, Serialize};

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

/// Every listening TCP/TCP6 socket and bound UDP/UDP6 socket, sorted by port.
pub fn get_ports() -> Result<Vec<PortInfo>> {
    let mut sockets = listening_sockets()?;
    let owners = socket_owners(sockets.iter().map(|s| s.inode).collect());
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

fn listening_sockets() -> Result<Vec<PortInfo>> {
    let mut out = Vec::new();
    for (protocol, read) in [
        (Protocol::Tcp, procfs::net::tcp as TcpTable),
        (Protocol::Tcp6, procfs::net::tcp6),
    ] {
        out.extend(
            read_table(protocol, read)?
                .into_iter()
                .filter(|e| e.state == TcpState::Listen)
                .map(|e| socket(protocol, e.local_address, e.uid, e.inode)),
        );
    }
    for (protocol, read) in [
        (Protocol::Udp, procfs::net::udp as UdpTable),
        (Protocol::Udp6, procfs::net::udp6),
    ] {
        // An unconnected bound UDP socket shows as CLOSE (ss calls it UNCONN).
        out.extend(
            read_table(protocol, read)?
                .into_iter()
                .filter(|e| e.state == UdpState::Close)
                .map(|e| socket(protocol, e.local_address, e.uid, e.inode)),
        );
    }
    Ok(out)
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
fn socket_owners(wanted: std::collections::HashSet<u64>) -> HashMap<u64, Vec<PortProcess>> {
    let mut owners: HashMap<u64, Vec<PortProcess>> = HashMap::new();
    if wanted.is_empty() {
        return owners;
    }
    let Ok(all) = procfs::process::all_processes() else {
        return owners;
    };
    for process in all.flatten() {
        let Ok(fds) = process.fd() else { continue };
        let mut name = None;
        for fd in fds.flatten() {
            let procfs::process::FDTarget::Socket(inode) = fd.target else {
                continue;
            };
            if !wanted.contains(&inode) {
                continue;
            }
            let name = name.get_or_insert_with(|| {
                process
                    .stat()
                    .map(|s| s.comm)
                    .unwrap_or_else(|_| String::from("?"))
            });
            let holders = owners.entry(inode).or_default();
            let pid = process.pid() as u32;
            if !holders.iter().any(|h| h.pid == pid) {
                holders.push(PortProcess {
                    pid,
                    name: name.clone(),
                });
            }
        }
    }
    owners
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
    fn connected_sockets_are_not_listed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let client_port = client.local_addr().unwrap().port();
        assert!(get_ports().unwrap().iter().all(|p| p.port != client_port));
    }
}
