//! octa's control plane.
//!
//! Will own: the roles `api`, `worker`, `health` and `housekeeping` of the `octa-control`
//! binary, the sqlx store, and the drivers (amphora REST client, compute, network). It may
//! depend on `proto`, `cloud` and `pki` only. The binary arrives with its first role.
