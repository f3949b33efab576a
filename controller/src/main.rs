//! The `dr` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = dr::cli::Cli::parse();
    let code = match dr::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    };
    std::process::exit(code);
}
