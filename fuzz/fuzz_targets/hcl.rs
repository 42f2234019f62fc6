//! Feeds arbitrary bytes to the HCL front-end and the Terraform evaluator (main.tf).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provcheck::fuzzing::{run, Front};

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = run(Front::Terraform, data) {
        panic!("{problem}");
    }
});
