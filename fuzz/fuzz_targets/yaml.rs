//! Feeds arbitrary bytes to the YAML front-end, as a Kubernetes manifest (x.yaml).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provcheck::fuzzing::{run, Front};

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = run(Front::Kubernetes, data) {
        panic!("{problem}");
    }
});
