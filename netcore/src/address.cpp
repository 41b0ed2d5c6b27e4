// Address formatting and parsing.
#include "netcore/address.hpp"

#include <enet/enet.h>

#include <charconv>
#include <cstdio>

namespace netcore {

std::string Address::to_string() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", (ip >> 24) & 0xFFu, (ip >> 16) & 0xFFu,
                  (ip >> 8) & 0xFFu, ip & 0xFFu, static_cast<unsigned>(port));
    return buf;
}

// RFC 1918 private (10/8, 172.16/12, 192.168/16), RFC 6598 shared address space (100.64/10, a
// carrier-grade NAT's inside), RFC 3927 link-local (169.254/16) and loopback (127/8, for tests).
// Anything else is reachable from the internet, so a client told to probe it could be made to
// send to a stranger's victim (docs/SECURITY.md).
bool lan_candidate(Address a) {
    const auto in = [&](std::uint32_t net, int bits) {
        return (a.ip >> (32 - bits)) == (net >> (32 - bits));
    };
    return in(0x0A000000u, 8) || in(0xAC100000u, 12) || in(0xC0A80000u, 16) ||
           in(0x64400000u, 10) || in(0xA9FE0000u, 16) || in(0x7F000000u, 8);
}

namespace {

// Splits "host[:port]"; the port must be 1..65535 when present.
bool split_host_port(std::string_view text, std::uint16_t default_port, std::string_view& host,
                     std::uint16_t& port) {
    host = text;
    port = default_port;
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        const auto digits = text.substr(colon + 1);
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
            value > 65535)
            return false;
        port = static_cast<std::uint16_t>(value);
    }
    return !host.empty() && port != 0;
}

}  // namespace

std::optional<Address> parse_address(std::string_view text, std::uint16_t default_port) {
    std::string_view host;
    std::uint16_t port = 0;
    if (!split_host_port(text, default_port, host, port)) return std::nullopt;
    std::uint32_t ip = 0;
    const char* p = host.data();
    const char* end = host.data() + host.size();
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (p == end || *p != '.') return std::nullopt;
            ++p;
        }
        unsigned value = 0;
        const auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc{} || next == p || next - p > 3 || value > 255) return std::nullopt;
        ip = (ip << 8) | value;
        p = next;
    }
    if (p != end) return std::nullopt;
    return Address{ip, port};
}

std::optional<Address> resolve_address(std::string_view text, std::uint16_t default_port) {
    if (auto literal = parse_address(text, default_port)) return literal;
    std::string_view host;
    std::uint16_t port = 0;
    if (!split_host_port(text, default_port, host, port)) return std::nullopt;
    ENetAddress resolved{};
    const std::string host_z(host);
    if (enet_address_set_host(&resolved, host_z.c_str()) != 0) return std::nullopt;
    return Address{ENET_NET_TO_HOST_32(resolved.host), port};
}

}  // namespace netcore
