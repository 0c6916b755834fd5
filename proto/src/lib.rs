//! Wire types only, no I/O.
//!
//! Owns: `amphora`, the amphora API 1.0 request and response bodies and its two error
//! shapes; `heartbeat`, the amphora heartbeat (message version 3) and its envelope
//! (zlib + HMAC-SHA256). Octavia v2 API resources are still to come (see
//! `octavia-protocol.md` §5). It depends on no other octa crate.

pub mod amphora;
pub mod heartbeat;
