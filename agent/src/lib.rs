//! octa's amphora agent.
//!
//! Will own (issue "`octa-agent` ..."): the amphora API 1.0 over mTLS, haproxy
//! management and the heartbeat sender, with host effects behind a `Host` trait. It may
//! depend on `proto`, `netplumb` and `pki` only, and must never link dialoguer,
//! openstack_sdk or sqlx: it ships inside the amphora. The `octa-agent` binary arrives
//! with the API.
