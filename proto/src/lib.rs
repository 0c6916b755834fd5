//! Wire types only, no I/O.
//!
//! Owns today: `heartbeat`, the amphora heartbeat (message version 3) and its envelope
//! (zlib + HMAC-SHA256). Will own: the amphora API 1.0 request and response bodies, the
//! Octavia v2 API resources and the error bodies (see `octavia-protocol.md`). It depends
//! on no other octa crate.

pub mod heartbeat;
