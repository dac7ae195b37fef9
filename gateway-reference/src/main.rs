//! `scim-gateway`: the command-line entry point.

fn main() -> std::process::ExitCode {
    eprintln!("scim-gateway: the command line is being assembled in this change");
    std::process::ExitCode::FAILURE
}
