//! The few cgroupfs reads and writes, each error naming its file, and the parsing of
//! `/proc/self/mountinfo` and `/proc/self/cgroup`.

use std::path::{Path, PathBuf};

use super::CgroupError;

/// Writes `value` to `dir/file` (one write, as cgroupfs wants).
pub fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|source| CgroupError::Io { path, source })
}

/// Reads `dir/file`, `None` when it cannot be read.
pub fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// Creates `dir` (and its parents); an existing one is fine.
pub fn make_dir(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(|source| CgroupError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// The value of `key` in a flat-keyed file such as `memory.events` (`oom_kill 3`).
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// One cgroup mount: its mount point, the path inside the hierarchy it shows, and for v1
/// the controllers bound to it (empty for v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub point: PathBuf,
    /// The hierarchy path at the mount point (`/` unless a container mounted a subtree).
    pub root: String,
    /// `None` for the unified (v2) hierarchy, else the v1 controllers.
    pub v1: Option<Vec<String>>,
}

/// The cgroup mounts in `mountinfo` text.
pub fn mounts(mountinfo: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let tail: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) = (fields.get(3), fields.get(4), tail.first())
        else {
            continue;
        };
        let v1 = match *fstype {
            "cgroup2" => None,
            "cgroup" => Some(
                tail.get(2)
                    .unwrap_or(&"")
                    .split(',')
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => continue,
        };
        out.push(Mount {
            point: PathBuf::from(point),
            root: (*root).to_owned(),
            v1,
        });
    }
    out
}

/// The caller's cgroup path in the v2 hierarchy and, per v1 controller, in its hierarchy,
/// from `/proc/self/cgroup` text.
pub fn own_paths(cgroup: &str) -> (Option<String>, Vec<(String, String)>) {
    let mut v2 = None;
    let mut v1 = Vec::new();
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            v2 = Some(path.to_owned());
        } else {
            for c in controllers.split(',') {
                v1.push((c.to_owned(), path.to_owned()));
            }
        }
    }
    (v2, v1)
}

/// The directory of hierarchy path `path` under `mount`.
pub fn dir_of(mount: &Mount, path: &str) -> PathBuf {
    let inside = path.strip_prefix(mount.root.as_str()).unwrap_or(path);
    mount.point.join(inside.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_hybrid_machine() {
        let mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let found = mounts(mountinfo);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].v1.as_deref().unwrap(), ["rw", "cpu", "cpuacct"]);
        assert_eq!(found[2].v1, None);
        let (v2, v1) = own_paths("4:memory:/a/b\n1:cpu,cpuacct:/\n0::/user.slice\n");
        assert_eq!(v2.as_deref(), Some("/user.slice"));
        assert!(v1.contains(&("cpuacct".to_owned(), "/".to_owned())));
        assert_eq!(
            dir_of(&found[1], "/a/b"),
            PathBuf::from("/sys/fs/cgroup/memory/a/b")
        );
        let container = Mount {
            point: "/sys/fs/cgroup".into(),
            root: "/docker/x".into(),
            v1: None,
        };
        assert_eq!(
            dir_of(&container, "/docker/x/y"),
            PathBuf::from("/sys/fs/cgroup/y")
        );
        assert_eq!(keyed("low 0\noom 2\noom_kill 1\n", "oom_kill"), Some(1));
    }
}
