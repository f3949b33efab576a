//! One running host of the test bed, as the outside world reaches it.

use std::net::{Ipv4Addr, SocketAddr};

/// A host of a running test bed.
#[derive(Debug, Clone)]
pub struct Host {
    /// The host's name (its host name and its DNS name on the test bed network).
    pub name: String,
    /// The Docker container currently playing the host (unique per run).
    pub container: String,
    /// Its fixed address on the test bed network; this machine reaches it directly.
    pub address: Ipv4Addr,
    /// Its inventory groups.
    pub groups: Vec<String>,
}

impl Host {
    /// sshd's port on the host.
    pub const SSH_PORT: u16 = 22;
    /// The user the test key logs in as.
    pub const SSH_USER: &'static str = "root";

    /// Where to connect for SSH.
    pub fn ssh_addr(&self) -> SocketAddr {
        SocketAddr::from((self.address, Self::SSH_PORT))
    }
}
