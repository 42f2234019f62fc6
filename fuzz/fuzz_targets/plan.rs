//! Feeds arbitrary bytes to the Terraform plan JSON front-end (plan.json).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provcheck::fuzzing::{run, Front};

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = run(Front::Plan, data) {
        panic!("{problem}");
    }
});
