//! Maps numeric user ids to names, once per uid.

use std::collections::HashMap;

/// Caches uid → user name lookups, which otherwise cost a passwd scan each.
#[derive(Debug, Default)]
pub(crate) struct UserCache {
    names: HashMap<u32, String>,
}

impl UserCache {
    /// The user's login name, or the uid as text when it has no passwd entry.
    pub(crate) fn name(&mut self, uid: u32) -> &str {
        self.names.entry(uid).or_insert_with(|| lookup(uid))
    }
}

/// One uncached lookup.
pub(crate) fn lookup(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}
