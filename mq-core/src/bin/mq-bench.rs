//! `mq-bench` (arriving with its issue).

fn main() {
    eprintln!("mq-bench: not built yet");
    std::process::exit(2);
}
