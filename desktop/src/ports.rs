//! The ports the tray and the window list: core's [`PortInfo`] (what `procward ports`
//! shows), each with what the app needs to kill it safely: the holder's exact start time,
//! whether procward manages it, and whether a kill must be confirmed first.

use procward_core::sys::process::{Identity, identify};
use procward_core::{PortInfo, Protocol};
use serde::Serialize;

use crate::daemon::Managed;

/// One listening socket, as the window's table and the tray's menu show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortRow {
    /// The socket (the `get_ports` contract's fields).
    #[serde(flatten)]
    pub info: PortInfo,
    /// The holder's start time in clock ticks since boot, read now: a kill is pinned to it.
    pub start_ticks: Option<u64>,
    /// The managed process this holder belongs to (its main process or in its group).
    pub managed: Option<String>,
    /// Whether the holder is this user's.
    pub own: bool,
    /// Whether a kill asks first: procward manages it, or another user owns it.
    pub confirm: bool,
}

impl PortRow {
    /// The tray's label: `:8080 python3 (4242)`, with `/udp` for UDP and the owner when
    /// the holder cannot be seen.
    pub fn label(&self) -> String {
        let proto = match self.info.protocol {
            Protocol::Tcp | Protocol::Tcp6 => "",
            Protocol::Udp | Protocol::Udp6 => "/udp",
        };
        let holder = match (self.info.pid, &self.info.process_name) {
            (Some(pid), Some(name)) => format!("{name} ({pid})"),
            (Some(pid), None) => format!("({pid})"),
            _ => format!("(hidden, {})", self.info.user),
        };
        let managed = self
            .managed
            .as_ref()
            .map(|name| format!(" [{name}]"))
            .unwrap_or_default();
        format!(":{}{proto} {holder}{managed}", self.info.port)
    }
}

/// Every listening socket (the seed contract, as `procward ports` lists them).
pub fn get_ports() -> Result<Vec<PortInfo>, String> {
    procward_core::get_ports().map_err(|e| e.to_string())
}

/// The sockets as rows: one per port, protocol family and holder (a server listening on
/// both IPv4 and IPv6 is one row), sorted by port.
pub fn rows(ports: Vec<PortInfo>, managed: &[Managed]) -> Vec<PortRow> {
    let me = rustix::process::geteuid().as_raw();
    let mut rows: Vec<PortRow> = Vec::new();
    for info in ports {
        let udp = matches!(info.protocol, Protocol::Udp | Protocol::Udp6);
        let duplicate = rows.iter().any(|r| {
            r.info.port == info.port
                && r.info.pid == info.pid
                && matches!(r.info.protocol, Protocol::Udp | Protocol::Udp6) == udp
        });
        if duplicate {
            continue;
        }
        let identity = info.pid.and_then(|pid| identify(pid).ok());
        let managed_name = identity.as_ref().and_then(|i| managed_owner(i, managed));
        let own = identity.as_ref().map_or(info.uid == me, |i| i.uid == me);
        rows.push(PortRow {
            start_ticks: identity.map(|i| i.start_ticks),
            confirm: managed_name.is_some() || !own,
            managed: managed_name,
            own,
            info,
        });
    }
    rows
}

/// The managed process the holder `who` belongs to: its main process, or a member of
/// its process group (a server forked by a managed shell script).
fn managed_owner(who: &Identity, managed: &[Managed]) -> Option<String> {
    managed
        .iter()
        .find(|m| m.pid != 0 && (m.pid == who.pid || m.pid == who.pgid))
        .map(|m| m.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(port: u16, protocol: Protocol, pid: Option<u32>) -> PortInfo {
        PortInfo {
            protocol,
            local_address: "127.0.0.1".into(),
            port,
            pid,
            process_name: pid.map(|_| "python3".into()),
            user: "alice".into(),
            uid: rustix::process::geteuid().as_raw(),
            processes: Vec::new(),
            inode: 1,
        }
    }

    #[test]
    fn labels_name_port_process_and_pid() {
        let me = std::process::id();
        let rows = rows(
            vec![
                info(8080, Protocol::Tcp, Some(me)),
                info(8080, Protocol::Tcp6, Some(me)),
                info(53, Protocol::Udp, Some(me)),
                info(631, Protocol::Tcp, None),
            ],
            &[],
        );
        let labels: Vec<String> = rows.iter().map(PortRow::label).collect();
        assert_eq!(
            labels,
            [
                format!(":8080 python3 ({me})"),
                format!(":53/udp python3 ({me})"),
                ":631 (hidden, alice)".to_owned(),
            ]
        );
        // This test process is the holder: its own, exactly identified, no confirmation.
        assert!(rows[0].own && !rows[0].confirm);
        assert_eq!(
            rows[0].start_ticks,
            procward_core::sys::process::start_ticks_of(me)
        );
    }

    #[test]
    fn managed_and_other_users_holders_ask_first() {
        let me = std::process::id();
        let managed = [Managed {
            name: "web".into(),
            state: "running".into(),
            pid: me,
            start_ticks: 0,
            restarts: 0,
            reason: String::new(),
        }];
        let row = &rows(vec![info(8080, Protocol::Tcp, Some(me))], &managed)[0];
        assert_eq!(row.managed.as_deref(), Some("web"));
        assert!(row.confirm);
        assert_eq!(row.label(), format!(":8080 python3 ({me}) [web]"));
        // PID 1 belongs to root; as any other user it is someone else's.
        let init = &rows(vec![info(22, Protocol::Tcp, Some(1))], &[])[0];
        assert_eq!(init.own, rustix::process::geteuid().is_root());
        assert_eq!(init.confirm, !init.own);
    }

    #[test]
    fn a_real_listener_is_found_with_its_holder() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = rows(get_ports().unwrap(), &[]);
        let row = found.iter().find(|r| r.info.port == port).expect("listed");
        assert_eq!(row.info.pid, Some(std::process::id()));
        assert!(row.start_ticks.is_some());
    }
}
