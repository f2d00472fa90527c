//! Which managed process a pid belonged to, so `GetLogs(pid)` still finds the logs of a
//! process that has since exited or been restarted under a new pid.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Pids remembered at most; the oldest are forgotten first.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
struct Book {
    names: HashMap<u32, String>,
    order: VecDeque<u32>,
}

/// A bounded pid → managed-name memory shared by the gRPC services; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PidBook {
    book: Arc<Mutex<Book>>,
}

impl PidBook {
    /// Records that these pids run these managed processes.
    pub fn remember(&self, pairs: impl IntoIterator<Item = (u32, String)>) {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        for (pid, name) in pairs {
            if book.names.insert(pid, name).is_none() {
                book.order.push_back(pid);
            }
            while book.order.len() > CAPACITY {
                if let Some(oldest) = book.order.pop_front() {
                    book.names.remove(&oldest);
                }
            }
        }
    }

    /// The managed process `pid` last belonged to.
    pub fn name_of(&self, pid: u32) -> Option<String> {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        book.names.get(&pid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let book = PidBook::default();
        book.remember((0..CAPACITY as u32 + 5).map(|pid| (pid, format!("p{pid}"))));
        assert_eq!(book.name_of(3), None);
        assert_eq!(book.name_of(5).as_deref(), Some("p5"));
        book.remember([(5, "again".to_owned())]);
        assert_eq!(book.name_of(5).as_deref(), Some("again"));
    }
}
