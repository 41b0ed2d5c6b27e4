// Address formatting and parsing.
#include "netcore/address.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

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

// Splits "host[:port]"; the port must be 1..65535 when present. On failure, `why` says what is
// wrong with `text` (one line, no trailing period; the caller names the text).
bool split_host_port(std::string_view text, std::uint16_t default_port, std::string_view& host,
                     std::uint16_t& port, std::string* why = nullptr) {
    const auto fail = [&](std::string reason) {
        if (why != nullptr) *why = std::move(reason);
        return false;
    };
    host = text;
    port = default_port;
    if (text.empty()) return fail("empty address: expected host[:port]");
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos || host.starts_with('['))
            return fail("an IPv6 address: netcore speaks IPv4 only");
        const auto digits = text.substr(colon + 1);
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
            value > 65535)
            return fail("bad port '" + std::string(digits) + "': expected 1..65535");
        port = static_cast<std::uint16_t>(value);
    }
    if (host.empty()) return fail("no host before the port");
    if (port == 0) return fail("no port: expected host:port");
    return true;
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

std::optional<Address> resolve_address(std::string_view text, std::uint16_t default_port,
                                       std::string* reason) {
    if (auto literal = parse_address(text, default_port)) return literal;
    std::string_view host;
    std::uint16_t port = 0;
    if (!split_host_port(text, default_port, host, port, reason)) return std::nullopt;
    // ENet 1.3 is IPv4 only: ask for IPv4 addresses, and take the first (the resolver's order).
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    const std::string host_z(host);
    const int rc = getaddrinfo(host_z.c_str(), nullptr, &hints, &found);
    if (rc != 0 || found == nullptr) {
        if (reason != nullptr) {
            const char* cause = rc == EAI_SYSTEM ? std::strerror(errno)
                                : rc != 0        ? gai_strerror(rc)
                                                 : "no IPv4 address";
            *reason = "cannot resolve '" + host_z + "': " + cause;
        }
        if (found != nullptr) freeaddrinfo(found);
        return std::nullopt;
    }
    sockaddr_in in{};
    std::memcpy(&in, found->ai_addr, sizeof in);  // AF_INET: a sockaddr_in
    freeaddrinfo(found);
    return Address{ntohl(in.sin_addr.s_addr), port};
}

}  // namespace netcore
