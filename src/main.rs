//! `kerio-migrate`: the binary is only the command line; everything else is
//! in the library (see `src/lib.rs` for the architecture).

fn main() -> std::process::ExitCode {
    kerio_migrate::cli::main()
}
