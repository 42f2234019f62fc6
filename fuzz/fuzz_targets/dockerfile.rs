//! Feeds arbitrary bytes to the Dockerfile parser (Dockerfile).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provcheck::fuzzing::{run, Front};

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = run(Front::Dockerfile, data) {
        panic!("{problem}");
    }
});
