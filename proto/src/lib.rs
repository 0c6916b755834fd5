//! Wire types only, no I/O.
//!
//! Will own: the amphora API 1.0 request and response bodies, the heartbeat envelope
//! (zlib + HMAC-SHA256, message version 3), the Octavia v2 API resources and the error
//! bodies (see `octavia-protocol.md`). It depends on no other octa crate.
