//! Rebuild when the rule pack changes: the rules are embedded with
//! include_dir, which cannot tell Cargo about files added to the folder.

fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=build.rs");
}
