//! Feeds arbitrary bytes to the compose front-end with interpolation (compose.yaml).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provcheck::fuzzing::{run, Front};

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = run(Front::Compose, data) {
        panic!("{problem}");
    }
});
