//! Listening sockets from a `NETLINK_SOCK_DIAG` dump, the way `ss` gets them.
//!
//! Why this exists instead of reading `/proc/net/{tcp,tcp6,udp,udp6}`: to produce
//! `/proc/net/tcp` the kernel walks the whole TCP established hash table (and does it again
//! for the read that returns EOF), which costs a couple of hundred microseconds per file even
//! on a quiet machine and more the more connections there are. A sock_diag dump carries a
//! state filter: asking only for `LISTEN` TCP sockets is answered from the listening hash,
//! and asking only for `CLOSE` ("UNCONN") UDP sockets skips connected ones. That made
//! `procward ports` slower than `ss -ltnup`, which uses this interface.
//!
//! The messages are built and parsed with `netlink-packet-sock-diag`; the socket is a plain
//! rustix netlink socket. Any failure (no netlink in a sandbox, `udp_diag` not available,
//! a message we cannot parse) is reported to the caller, which falls back to `/proc/net`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use rustix::net::netlink::{SOCK_DIAG, SocketAddrNetlink};
use rustix::net::sockopt::Timeout;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use super::ports::Protocol;

/// A listening TCP or unconnected bound UDP socket, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listener {
    /// Local address and port.
    pub local: SocketAddr,
    /// Owner's uid.
    pub uid: u32,
    /// Socket inode.
    pub inode: u64,
}

/// How long to wait for the next part of a dump before falling back to `/proc/net`.
const RECV_TIMEOUT: Duration = Duration::from_secs(1);

/// The largest datagram the kernel builds for a dump (it caps its buffer at 32 KiB).
const RECV_BUFFER: usize = 32 * 1024;

/// An open `NETLINK_SOCK_DIAG` socket, reused for the four dumps.
pub(super) struct SockDiag {
    fd: OwnedFd,
    buf: Vec<u8>,
    seq: u32,
}

impl SockDiag {
    /// Opens the netlink socket; fails where sock_diag is unavailable (some sandboxes,
    /// kernels without `CONFIG_INET_DIAG`).
    pub fn open() -> io::Result<Self> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(SOCK_DIAG),
        )?;
        // The kernel answers at once; a dump that never ends must not hang `procward ports`.
        rustix::net::sockopt::set_socket_timeout(&fd, Timeout::Recv, Some(RECV_TIMEOUT))?;
        Ok(Self {
            fd,
            buf: vec![0; RECV_BUFFER],
            seq: 0,
        })
    }

    /// Every listening (TCP) or bound unconnected (UDP) socket of `protocol`.
    ///
    /// After an error the socket may hold the rest of an unfinished dump: open a new one.
    pub fn listeners(&mut self, protocol: Protocol) -> io::Result<Vec<Listener>> {
        self.seq = self.seq.wrapping_add(1);
        let request = request(protocol, self.seq);
        rustix::net::sendto(
            &self.fd,
            &request,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )?;
        let mut out = Vec::new();
        loop {
            let (len, full, from) =
                rustix::net::recvfrom(&self.fd, &mut self.buf, RecvFlags::TRUNC)?;
            if full > len {
                return Err(invalid("sock_diag datagram larger than the buffer"));
            }
            // Only the kernel (port 0) answers; anything else is not ours to parse.
            let from = from.ok_or_else(|| invalid("netlink datagram without a sender"))?;
            if SocketAddrNetlink::try_from(from)?.pid() != 0 {
                continue;
            }
            if parse_datagram(&self.buf[..len], self.seq, &mut out)? == Progress::Done {
                return Ok(out);
            }
        }
    }
}

/// Family, IP protocol and state filter for one dump.
fn filter(protocol: Protocol) -> (u8, u8, StateFlags) {
    match protocol {
        Protocol::Tcp => (AF_INET, IPPROTO_TCP, StateFlags::LISTEN),
        Protocol::Tcp6 => (AF_INET6, IPPROTO_TCP, StateFlags::LISTEN),
        // An unconnected bound UDP socket is in state CLOSE (ss calls it UNCONN).
        Protocol::Udp => (AF_INET, IPPROTO_UDP, StateFlags::CLOSE),
        Protocol::Udp6 => (AF_INET6, IPPROTO_UDP, StateFlags::CLOSE),
    }
}

/// A `SOCK_DIAG_BY_FAMILY` dump request (`nlmsghdr` + `inet_diag_req_v2`).
fn request(protocol: Protocol, seq: u32) -> Vec<u8> {
    let (family, ip_protocol, states) = filter(protocol);
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: ip_protocol,
            extensions: ExtensionFlags::empty(),
            states,
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        })
        .into(),
    );
    message.finalize();
    let mut buf = vec![0; message.buffer_len()];
    message.serialize(&mut buf);
    buf
}

/// Whether a dump has more datagrams to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    More,
    Done,
}

/// Appends the sockets in one datagram of a dump answering request `seq` to `out`.
fn parse_datagram(mut data: &[u8], seq: u32, out: &mut Vec<Listener>) -> io::Result<Progress> {
    while !data.is_empty() {
        let message = NetlinkMessage::<SockDiagMessage>::deserialize(data)
            .map_err(|e| invalid(&format!("bad sock_diag message: {e}")))?;
        let len = message.header.length as usize;
        // Messages are 4-byte aligned; the last one may end without padding.
        data = data.get(len.next_multiple_of(4)..).unwrap_or_default();
        if message.header.sequence_number != seq {
            continue; // a reply to an earlier request
        }
        match message.payload {
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                let header = &response.header;
                let id = &header.socket_id;
                out.push(Listener {
                    local: SocketAddr::new(id.source_address, id.source_port),
                    uid: header.uid,
                    inode: u64::from(header.inode),
                });
            }
            NetlinkPayload::Done(done) if done.code < 0 => {
                return Err(io::Error::from_raw_os_error(-done.code));
            }
            NetlinkPayload::Done(_) => return Ok(Progress::Done),
            NetlinkPayload::Error(error) => {
                return Err(match error.code {
                    Some(code) => io::Error::from_raw_os_error(-code.get()),
                    None => invalid("unexpected netlink ACK to a dump"),
                });
            }
            NetlinkPayload::Overrun(_) => return Err(invalid("netlink overrun")),
            // Noop, other sock_diag messages; the enum is non-exhaustive.
            _ => {}
        }
    }
    Ok(Progress::More)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use netlink_packet_sock_diag::constants::{TCP_CLOSE, TCP_LISTEN};

    use super::*;

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;

    /// One netlink message as the kernel lays it out (native-endian header).
    fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0x2u16.to_ne_bytes()); // NLM_F_MULTI
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    /// An `inet_diag_msg`: port big-endian, address in network order, then an
    /// `INET_DIAG_SHUTDOWN` attribute as the kernel appends one.
    fn inet_diag_msg(family: u8, addr: [u8; 16], port: u16, uid: u32, inode: u32) -> Vec<u8> {
        let mut p = vec![family, TCP_LISTEN, 0, 0];
        p.extend_from_slice(&port.to_be_bytes());
        p.extend_from_slice(&0u16.to_be_bytes());
        p.extend_from_slice(&addr);
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&0u32.to_ne_bytes()); // interface
        p.extend_from_slice(&[0xff; 8]); // cookie
        for field in [0u32, 0, 128, uid, inode] {
            // expires, rqueue, wqueue, uid, inode
            p.extend_from_slice(&field.to_ne_bytes());
        }
        p.extend_from_slice(&5u16.to_ne_bytes()); // nla_len
        p.extend_from_slice(&8u16.to_ne_bytes()); // INET_DIAG_SHUTDOWN
        p.extend_from_slice(&[0, 0, 0, 0]); // value + padding
        p
    }

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&a);
        addr
    }

    #[test]
    fn decodes_a_dump_of_v4_and_v6_listeners() {
        let mut data = message(
            SOCK_DIAG_BY_FAMILY,
            7,
            &inet_diag_msg(AF_INET, v4([127, 0, 0, 1]), 8080, 1000, 12345),
        );
        let loopback6 = std::net::Ipv6Addr::LOCALHOST.octets();
        data.extend(message(
            SOCK_DIAG_BY_FAMILY,
            7,
            &inet_diag_msg(AF_INET6, loopback6, 53, 0, 99),
        ));
        let mut out = Vec::new();
        assert_eq!(parse_datagram(&data, 7, &mut out).unwrap(), Progress::More);
        assert_eq!(
            out,
            vec![
                Listener {
                    local: "127.0.0.1:8080".parse().unwrap(),
                    uid: 1000,
                    inode: 12345
                },
                Listener {
                    local: "[::1]:53".parse().unwrap(),
                    uid: 0,
                    inode: 99
                },
            ]
        );
        let done = message(NLMSG_DONE, 7, &0i32.to_ne_bytes());
        assert_eq!(parse_datagram(&done, 7, &mut out).unwrap(), Progress::Done);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn skips_replies_to_other_requests() {
        let mut data = message(
            SOCK_DIAG_BY_FAMILY,
            1,
            &inet_diag_msg(AF_INET, v4([0, 0, 0, 0]), 22, 0, 1),
        );
        data.extend(message(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
        let mut out = Vec::new();
        assert_eq!(parse_datagram(&data, 2, &mut out).unwrap(), Progress::More);
        assert!(out.is_empty());
    }

    #[test]
    fn kernel_errors_become_io_errors() {
        // ENOENT: no handler for the protocol (udp_diag missing).
        let mut payload = (-2i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[0; 16]); // the request's header
        let data = message(NLMSG_ERROR, 3, &payload);
        let err = parse_datagram(&data, 3, &mut Vec::new()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(2));
        let truncated = &message(SOCK_DIAG_BY_FAMILY, 3, &[AF_INET, 10])[..];
        assert!(parse_datagram(truncated, 3, &mut Vec::new()).is_err());
    }

    #[test]
    fn requests_filter_on_state() {
        let req = request(Protocol::Udp6, 9);
        // nlmsghdr (16) + inet_diag_req_v2 (56).
        assert_eq!(req.len(), 72);
        assert_eq!(u16::from_ne_bytes([req[4], req[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u32::from_ne_bytes(req[8..12].try_into().unwrap()), 9);
        assert_eq!((req[16], req[17]), (AF_INET6, IPPROTO_UDP));
        let states = u32::from_ne_bytes(req[20..24].try_into().unwrap());
        assert_eq!(states, 1 << TCP_CLOSE);
    }

    #[test]
    fn dumps_our_own_listeners() {
        let Ok(mut diag) = SockDiag::open() else {
            return; // no sock_diag here: the /proc/net fallback is tested in ports
        };
        let tcp = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let found = diag.listeners(Protocol::Tcp).unwrap();
        assert!(found.iter().any(|l| l.local == tcp_addr));
        let found = diag.listeners(Protocol::Udp6).unwrap();
        assert!(found.iter().any(|l| l.local == udp.local_addr().unwrap()));
        assert!(found.iter().all(|l| l.local.is_ipv6()));
    }
}
