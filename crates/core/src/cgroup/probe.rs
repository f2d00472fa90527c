//! Finding out what this machine allows: the v2 hierarchy for tracking and, per
//! controller, v2 when it can be enabled for procward's units, else v1.

use std::path::{Path, PathBuf};

use super::files::{self, Mount};
use super::{Cgroups, Controller, ControllerDir};

pub fn probe(namespace: &str) -> Cgroups {
    let mut cgroups = Cgroups::default();
    let (Ok(mountinfo), Ok(own)) = (
        std::fs::read_to_string("/proc/self/mountinfo"),
        std::fs::read_to_string("/proc/self/cgroup"),
    ) else {
        return Cgroups::disabled("cannot read /proc/self/mountinfo or /proc/self/cgroup");
    };
    let mounts = files::mounts(&mountinfo);
    let (own_v2, own_v1) = files::own_paths(&own);
    let v2_mount = mounts.iter().find(|m| m.v1.is_none());
    if let (Some(mount), Some(path)) = (v2_mount, own_v2.as_deref()) {
        let own_dir = files::dir_of(mount, path);
        let base = own_dir.join(namespace);
        match files::make_dir(&base) {
            Ok(()) => {
                for controller in Controller::ALL {
                    if enable_v2(&own_dir, &base, controller, path == "/") {
                        cgroups.controllers.push(ControllerDir {
                            controller,
                            base: base.clone(),
                            v2: true,
                        });
                    }
                }
                cgroups.v2 = Some(base);
            }
            Err(e) => cgroups.why_not.push(format!("cgroup2 not writable: {e}")),
        }
    } else {
        cgroups.why_not.push("no cgroup2 hierarchy mounted".into());
    }
    for controller in Controller::ALL {
        if cgroups.enforces(controller) {
            continue;
        }
        match v1_base(&mounts, &own_v1, controller, namespace) {
            Ok(base) => cgroups.controllers.push(ControllerDir {
                controller,
                base,
                v2: false,
            }),
            Err(why) => cgroups
                .why_not
                .push(format!("{}: {why}", controller.name())),
        }
    }
    // Made again with the first unit: a daemon that never makes one leaves nothing behind
    // (a namespace that holds units of running processes stays, for re-adoption).
    cgroups.remove_namespace();
    cgroups
}

/// Enables `controller` for the units under `base`: it must be offered to `base` (in its
/// `cgroup.controllers`), which the caller's own cgroup can arrange only when it is the
/// root (a non-root cgroup holding processes cannot delegate controllers).
fn enable_v2(own_dir: &Path, base: &Path, controller: Controller, own_is_root: bool) -> bool {
    let name = controller.name();
    let offered = |dir: &Path| {
        files::read(dir, "cgroup.controllers")
            .is_some_and(|list| list.split_whitespace().any(|c| c == name))
    };
    if !offered(base) {
        if !own_is_root || !offered(own_dir) {
            return false;
        }
        if files::write(own_dir, "cgroup.subtree_control", &format!("+{name}")).is_err() {
            return false;
        }
    }
    files::write(base, "cgroup.subtree_control", &format!("+{name}")).is_ok()
}

/// The v1 base for `controller`: its hierarchy's directory of the caller's cgroup, plus
/// `namespace`, made when writable.
fn v1_base(
    mounts: &[Mount],
    own: &[(String, String)],
    controller: Controller,
    namespace: &str,
) -> Result<PathBuf, String> {
    let name = controller.name();
    let mount = mounts
        .iter()
        .find(|m| m.v1.as_ref().is_some_and(|c| c.iter().any(|c| c == name)))
        .ok_or("not available in cgroup v2 here and no cgroup v1 hierarchy has it")?;
    let path = own
        .iter()
        .find(|(c, _)| c == name)
        .map(|(_, p)| p.as_str())
        .ok_or("not in /proc/self/cgroup")?;
    let base = files::dir_of(mount, path).join(namespace);
    files::make_dir(&base).map_err(|e| format!("cgroup v1 not writable: {e}"))?;
    Ok(base)
}
