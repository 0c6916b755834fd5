//! An RFC 7047 (OVSDB) client of our own: no usable crate exists (crates.md §1.3).
//!
//! - `client`: the JSON-RPC connection over `unix:` or `tcp:` remotes, with a deadline on
//!   every request, (re)connection with backoff when the server is away or restarts, and
//!   answers to the server's `echo`;
//! - `ops`: typed transaction operations and the OVSDB value notation (`set`, `map`,
//!   `uuid`, `named-uuid`).

mod client;
mod ops;

pub use client::{Ovsdb, Remote, rows};
pub use ops::{Op, atom_str, map, map_get, named_uuid, set, set_atoms, uuid};
