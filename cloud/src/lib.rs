//! OpenStack access through `openstack_sdk`.
//!
//! Will own (issue "`octa install` ..."): authentication from clouds.yaml or `OS_*`,
//! Neutron networks/subnets/security groups/ports, Nova flavors and keypairs, Glance image
//! lookup by tag, all behind intent-level traits with errors classified once (not found,
//! conflict, retryable). It must not depend on any other octa crate.
