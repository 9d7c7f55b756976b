//! Returning freed heap memory to the system: glibc keeps it in its arenas otherwise.

/// Hands the heap's free pages back to the kernel, on glibc Linux (elsewhere a no-op).
///
/// Called where a large amount was just freed: after loading (the loader's copies of 100,000
/// canaries are about 40 MB) and after each metrics flush (about 15 MB of copies at 10,000
/// canaries). Without it the process stays that much larger until the memory is reused.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let start = std::time::Instant::now();
        // SAFETY: malloc_trim only hands free pages back to the kernel; it takes the arenas'
        // own locks and may be called at any time from any thread.
        unsafe {
            libc::malloc_trim(0);
        }
        tracing::debug!(took = ?start.elapsed(), "freed memory returned to the system");
    }
}
