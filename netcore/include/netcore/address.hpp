// netcore — IPv4 endpoint value type shared by the library, the rendezvous and the tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netcore {

/// An IPv4 address and UDP port, both in host byte order (127.0.0.1 is 0x7F000001).
/// ENet 1.3 is IPv4 only, so this is too.
struct Address {
    std::uint32_t ip = 0;
    std::uint16_t port = 0;

    friend bool operator==(const Address&, const Address&) = default;

    /// "a.b.c.d:port".
    [[nodiscard]] std::string to_string() const;
    /// True for 0.0.0.0:0, the "no address" value.
    [[nodiscard]] bool empty() const { return ip == 0 && port == 0; }
};
/// True for addresses a LAN candidate may have: private, shared-address, link-local or loopback.
[[nodiscard]] bool lan_candidate(Address a);

/// Parses a dotted IPv4 literal with an optional ":port" ("203.0.113.7:9000").
/// Without a port, `default_port` is used. Returns nothing for anything else.
[[nodiscard]] std::optional<Address> parse_address(std::string_view text,
                                                   std::uint16_t default_port);

/// Like parse_address, but a host name is resolved too (getaddrinfo, IPv4 only; blocking: call
/// it once, at start-up). On failure, `reason` (when given) gets one human line saying why: an
/// empty address, a bad port, or the resolver's own reason ("Name or service not known").
[[nodiscard]] std::optional<Address> resolve_address(std::string_view text,
                                                     std::uint16_t default_port,
                                                     std::string* reason = nullptr);

}  // namespace netcore
