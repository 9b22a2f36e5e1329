//! `storehand-central`: the reference platform side of the store contract.

fn main() {}
