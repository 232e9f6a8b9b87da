//! Network interface lookup for `--interface NAME`: the IP address of a named interface
//! (`ib0`, `eth0`, ...), read from the operating system with `getifaddrs`.
//!
//! This module must not bind or connect; it only answers "which address does this interface
//! have".

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::TransportError;

/// One address of one interface.
#[derive(Clone, Debug, PartialEq)]
pub struct InterfaceAddress {
    /// The interface's name (`ib0`, `eth0`, `lo`).
    pub name: String,
    pub ip: IpAddr,
    /// The interface is up (`IFF_UP`).
    pub up: bool,
}

/// Every address of every interface, and every interface's name (with or without an address).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interfaces {
    pub addresses: Vec<InterfaceAddress>,
    pub names: BTreeSet<String>,
}

impl Interfaces {
    /// The interfaces of this machine (of this network namespace).
    pub fn of_this_host() -> Result<Interfaces, TransportError> {
        list_interface_addresses()
            .map(|(addresses, names)| Interfaces { addresses, names })
            .map_err(TransportError::ListInterfaces)
    }

    /// The address `--interface name` means: the interface's first IPv4 address, else its
    /// first IPv6 address; an unknown name (or one without an address) lists the interfaces.
    pub fn address_of(&self, name: &str) -> Result<IpAddr, TransportError> {
        let mut of_interface = self.addresses.iter().filter(|a| a.name == name);
        let ipv4 = of_interface.clone().find(|a| a.ip.is_ipv4());
        if let Some(found) = ipv4.or_else(|| of_interface.next()) {
            return Ok(found.ip);
        }
        let available = if self.names.is_empty() {
            "none".to_string()
        } else {
            self.names.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        Err(TransportError::UnknownInterface {
            name: name.to_string(),
            available,
        })
    }
}

/// The IP address of interface `name`: its first IPv4 address, else its first IPv6 address.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use tessera::transport::interface_address;
/// assert!(interface_address("lo").unwrap().is_loopback());
/// assert!(interface_address("no-such-interface").is_err());
/// # }
/// ```
pub fn interface_address(name: &str) -> Result<IpAddr, TransportError> {
    Interfaces::of_this_host()?.address_of(name)
}

/// Every IP address of every interface, and the names of all interfaces (with or without an
/// IP address).
fn list_interface_addresses() -> std::io::Result<(Vec<InterfaceAddress>, BTreeSet<String>)> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `list` is a valid out-pointer; on success it receives a linked list that we free
    // below with `freeifaddrs` and do not use afterwards.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut addresses = Vec::new();
    let mut names = BTreeSet::new();
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a non-null node of the list returned by getifaddrs, which stays
        // valid until freeifaddrs.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(entry.ifa_name) }
            .to_string_lossy()
            .into_owned();
        names.insert(name.clone());
        // SAFETY: `ifa_addr` is null or points to a sockaddr of the family it declares.
        let up = entry.ifa_flags & (libc::IFF_UP as u32) != 0;
        if let Some(ip) = unsafe { socket_ip(entry.ifa_addr) } {
            addresses.push(InterfaceAddress { name, ip, up });
        }
    }
    // SAFETY: `list` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(list) };
    Ok((addresses, names))
}

/// The IP address in `address`, if it is an IPv4 or IPv6 socket address.
///
/// # Safety
///
/// `address` must be null or point to a valid socket address whose `sa_family` tells its
/// real type.
unsafe fn socket_ip(address: *const libc::sockaddr) -> Option<IpAddr> {
    if address.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees a valid sockaddr; the family decides the cast.
    unsafe {
        match i32::from((*address).sa_family) {
            libc::AF_INET => {
                let v4 = &*(address as *const libc::sockaddr_in);
                Some(IpAddr::V4(Ipv4Addr::from(v4.sin_addr.s_addr.to_ne_bytes())))
            }
            libc::AF_INET6 => {
                let v6 = &*(address as *const libc::sockaddr_in6);
                Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}
