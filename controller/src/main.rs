//! The `dr` binary: parse arguments, run, map the outcome to an exit code.

use std::io::Write as _;

fn main() {
    let cli = dr::cli::Cli::parse_or_exit();
    let code = match dr::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err}");
            1
        }
    };
    std::process::exit(code);
}
