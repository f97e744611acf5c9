use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(kotalc::run(std::env::args_os()))
}
