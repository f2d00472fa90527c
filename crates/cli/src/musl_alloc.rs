//! The musl client's allocator: small blocks from TLSF (the `rlsf` crate), large ones from
//! musl's own `malloc`.
//!
//! Why: musl's malloc (mallocng) maps and unmaps pages for nearly every small allocation:
//! a `procward list` made about 100 `mmap`/`munmap` calls, each page zeroed anew on first
//! touch. TLSF keeps the pages it got and reuses them: `procward list` with 50 managed
//! processes took 0.74 ms of CPU instead of 1.02 ms (`perf stat -r 200`). But TLSF takes
//! memory from the kernel 64 KiB at a time, so a large reply (a `queue list --json` of
//! 10,000 jobs) cost twice the system time in mappings; blocks of [`LARGE`] bytes and
//! more go to musl's `malloc`, which maps each one whole and grows it with `mremap`.
//! The glibc build keeps glibc's malloc, which already does both (there this module is
//! compiled only for its test).
#![allow(unsafe_code)]
#![cfg_attr(not(target_env = "musl"), allow(dead_code))]

use std::alloc::{GlobalAlloc, Layout, System};

/// From this size on, a block is musl's.
const LARGE: usize = 64 * 1024;

/// TLSF for small blocks, the system allocator for large ones; which one holds a block
/// follows from its size, which every call is given.
pub struct SplitAllocator {
    small: rlsf::GlobalTlsf,
}

impl SplitAllocator {
    /// The allocator, for `#[global_allocator]`.
    pub const fn new() -> Self {
        Self {
            small: rlsf::GlobalTlsf::new(),
        }
    }
}

// SAFETY: each block is allocated, resized and freed by the allocator its size selects,
// and both follow `GlobalAlloc`'s contract.
unsafe impl GlobalAlloc for SplitAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe {
            match layout.size() < LARGE {
                true => self.small.alloc(layout),
                false => System.alloc(layout),
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the allocator that `layout`'s size selects.
        unsafe {
            match layout.size() < LARGE {
                true => self.small.dealloc(ptr, layout),
                false => System.dealloc(ptr, layout),
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (was_small, is_small) = (layout.size() < LARGE, new_size < LARGE);
        // SAFETY: the caller's contract; a block changing sides is copied into a new one
        // from the other allocator (the smaller size's worth) and freed where it was.
        unsafe {
            match (was_small, is_small) {
                (true, true) => self.small.realloc(ptr, layout, new_size),
                (false, false) => System.realloc(ptr, layout, new_size),
                _ => {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_bytes_across_sides_and_sizes() {
        let allocator = SplitAllocator::new();
        let sizes = [24, LARGE - 1, LARGE, 3 * LARGE, 100, LARGE + 8, 16];
        let mut layout = Layout::from_size_align(8, 16).unwrap();
        // SAFETY: every pointer is the last one this allocator returned, with its layout.
        unsafe {
            let mut ptr = allocator.alloc(layout);
            std::ptr::write_bytes(ptr, 0x5a, layout.size());
            for size in sizes {
                let kept = layout.size().min(size);
                ptr = allocator.realloc(ptr, layout, size);
                assert!(!ptr.is_null(), "{size}");
                assert_eq!(ptr as usize % 16, 0, "alignment kept at {size}");
                let bytes = std::slice::from_raw_parts(ptr, kept);
                assert!(
                    bytes.iter().all(|b| *b == 0x5a),
                    "{} -> {size}",
                    layout.size()
                );
                layout = Layout::from_size_align(size, 16).unwrap();
                std::ptr::write_bytes(ptr, 0x5a, size);
            }
            allocator.dealloc(ptr, layout);
        }
    }
}
