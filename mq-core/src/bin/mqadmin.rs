//! `mqadmin` (arriving with its issue).

fn main() {
    eprintln!("mqadmin: not built yet");
    std::process::exit(2);
}
