use std::process::ExitCode;

/// See Cargo.toml: glibc's malloc made the build's cost per resource grow with the set.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(kotalc::run(std::env::args_os()))
}
