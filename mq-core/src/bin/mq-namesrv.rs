//! `mq-namesrv` (arriving with its issue).

fn main() {
    eprintln!("mq-namesrv: not built yet");
    std::process::exit(2);
}
