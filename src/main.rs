use clap::Parser;
use pretext::cli::{self, Cli};

fn main() {
    pretext::ssl::ops::init_cpu_runtime();
    pretext::ssl::panics::quiet_reported_panics();
    let args = Cli::parse();
    let result = match args.command {
        Some(command) => cli::run(command),
        None => pretext::app::run_gui(args.data, args.run),
    };
    if let Err(e) = result {
        // One line for the user, causes joined; no backtrace.
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
