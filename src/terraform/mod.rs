//! Terraform evaluation: values, functions, variables, locals, modules.
//! (Being built: today the value model and the function library.)

pub mod callers;
pub mod eval;
pub mod functions;
pub mod module;
pub mod scan;
pub mod types;
pub mod value;
