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

bool lan_candidate(Address a) {
    // A LAN candidate is only ever probed because a peer (or whoever registered under its name)
    // said so: limited to ranges that do not route on the Internet, no client can be made to
    // send probes to a third party's public address (issue 11, docs/SECURITY.md).
    struct Range {
        std::uint32_t prefix;
        int bits;
    };
    static constexpr Range kRanges[] = {
        {0x0A000000u, 8},   // 10.0.0.0/8, private (RFC 1918)
        {0xAC100000u, 12},  // 172.16.0.0/12, private (RFC 1918)
        {0xC0A80000u, 16},  // 192.168.0.0/16, private (RFC 1918)
        {0x64400000u, 10},  // 100.64.0.0/10, shared address space (RFC 6598, carrier-grade NAT)
        {0xA9FE0000u, 16},  // 169.254.0.0/16, link-local (RFC 3927)
        {0x7F000000u, 8},   // 127.0.0.0/8, loopback (tests, and two games on one machine)
    };
    for (const auto& r : kRanges)
        if ((a.ip >> (32 - r.bits)) == (r.prefix >> (32 - r.bits))) return true;
    return false;
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
