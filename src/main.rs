//! The `rongmei` binary: parse the command line and hand over to the library.

/// mimalloc instead of glibc malloc: the writer thread frees what request threads allocated, and
/// glibc's per-arena locks made that a measurable share of the write path (see `rongmei bench write`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rongmei::cli::main()
}
