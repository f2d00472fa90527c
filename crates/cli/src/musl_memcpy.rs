//! `memcpy` for the client when it is linked against musl (scripts/release.sh builds it so;
//! on glibc only the copy itself is compiled, for its test).
//!
//! Why: musl's x86_64 `memcpy` copies with single-byte `movsb` steps around a `rep movsq`,
//! some 30 to 40 ns for a copy of a few bytes. The client makes such copies by the
//! hundred thousand in a large listing (each token serde_json writes, each string prost
//! decodes): `procward list --json` with 1,000 managed processes took 12.9 ms on musl
//! against 7.1 ms on glibc, 40 % of it in `memcpy` (`perf`, 145,000 calls, 132,000 of
//! them under 64 bytes). Copies up to 32 bytes are done here with two overlapping loads
//! and stores; longer ones with `rep movsb`, which is fast on every x86_64 CPU with
//! ERMS (Ivy Bridge and later, Zen).
//!
//! Defining `memcpy` keeps musl's own out of the link; `__memcpy_fwd` (the same routine
//! under musl's internal name, which its `memmove` calls for forward copies) is defined
//! too, or the linker would pull musl's `memcpy.o` for it and find `memcpy` twice.
//! Every path below copies forward or loads everything before it stores, as memmove's
//! forward case needs.
#![allow(unsafe_code)]

use std::arch::asm;

/// Copies `n` bytes from `src` to `dst`; returns `dst`.
///
/// # Safety
/// As C's `memcpy`: both ranges valid for `n` bytes (they may overlap only with
/// `dst < src`, for musl's `memmove`).
#[cfg(target_env = "musl")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract, passed on.
    unsafe { copy_forward(dst, src, n) };
    dst
}

/// musl's internal name for its forward copy (see the module's doc).
///
/// # Safety
/// As [`memcpy`].
#[cfg(target_env = "musl")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __memcpy_fwd(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract, passed on.
    unsafe { copy_forward(dst, src, n) };
    dst
}

/// The copy. Unaligned loads and stores of fixed sizes compile to plain moves, never to a
/// call of `memcpy` (which would be this function again). Compiled (and tested) on every
/// x86_64 target; exported as `memcpy` only on musl.
#[cfg_attr(not(target_env = "musl"), allow(dead_code))]
#[inline(always)]
unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY (whole body): every access is within the `n` bytes the caller vouches for;
    // loads come before the stores that could overlap them.
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                let (first, middle, last) = (*src, *src.add(n / 2), *src.add(n - 1));
                *dst = first;
                *dst.add(n / 2) = middle;
                *dst.add(n - 1) = last;
            }
            4..=7 => {
                let a = src.cast::<u32>().read_unaligned();
                let b = src.add(n - 4).cast::<u32>().read_unaligned();
                dst.cast::<u32>().write_unaligned(a);
                dst.add(n - 4).cast::<u32>().write_unaligned(b);
            }
            8..=16 => {
                let a = src.cast::<u64>().read_unaligned();
                let b = src.add(n - 8).cast::<u64>().read_unaligned();
                dst.cast::<u64>().write_unaligned(a);
                dst.add(n - 8).cast::<u64>().write_unaligned(b);
            }
            17..=32 => {
                let a = src.cast::<u128>().read_unaligned();
                let b = src.add(n - 16).cast::<u128>().read_unaligned();
                dst.cast::<u128>().write_unaligned(a);
                dst.add(n - 16).cast::<u128>().write_unaligned(b);
            }
            _ => asm!(
                "rep movsb",
                inout("rcx") n => _,
                inout("rdi") dst => _,
                inout("rsi") src => _,
                options(nostack, preserves_flags)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::copy_forward;

    #[test]
    fn every_length_copies_exactly_and_forward_overlap_is_a_memmove() {
        let source: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..200 {
            for offset in [0, 1, 5] {
                let mut out = vec![0xAAu8; 256];
                // SAFETY: both ranges are inside their vectors.
                unsafe { copy_forward(out.as_mut_ptr().add(offset), source.as_ptr(), n) };
                assert_eq!(&out[offset..offset + n], &source[..n], "n={n}");
                assert!(out[..offset].iter().all(|&b| b == 0xAA), "before, n={n}");
                assert!(out[offset + n..].iter().all(|&b| b == 0xAA), "after, n={n}");
            }
            // memmove's forward case: the destination starts before the source.
            for shift in [1, 3, 8, 17] {
                let mut buf = source.clone();
                let want: Vec<u8> = source[shift..shift + n].to_vec();
                // SAFETY: both ranges are inside `buf` (n + shift <= 300).
                unsafe { copy_forward(buf.as_mut_ptr(), buf.as_ptr().add(shift), n) };
                assert_eq!(&buf[..n], &want[..], "n={n} shift={shift}");
            }
        }
    }
}
