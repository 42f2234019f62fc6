//! Golden tests: the three formats rendered over `fixtures/`, parse errors
//! included, through the real binary. Review changes with `cargo insta
//! review`, or rerun with `INSTA_UPDATE=always` and read the diff.

use std::process::Command;

fn render(format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_provcheck"))
        .args(["check", "--format", format, "--show-undecided", "fixtures"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "fixtures/broken makes the run exit 2"
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn compact() {
    insta::assert_snapshot!(render("compact"));
}

#[test]
fn json() {
    insta::assert_snapshot!(render("json"));
}

#[test]
fn human() {
    insta::assert_snapshot!(render("human"));
}
