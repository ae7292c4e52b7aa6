//! `mq-broker` (arriving with its issue).

fn main() {
    eprintln!("mq-broker: not built yet");
    std::process::exit(2);
}
