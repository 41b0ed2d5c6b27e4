// The attacker's tools for tests/test_attacks.cpp and the relay tests: a datagram sent from any
// source address (a raw IPv4 socket: needs root, as the NAT lab does), a plain UDP socket, a
// relay in the middle that records what passes, and ENet commands forged by hand.
#pragma once

#include <arpa/inet.h>
#include <enet/enet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "netcore/address.hpp"

namespace attacker {

/// A UDP socket on 127.0.0.1 that sends and receives without blocking.
class Udp {
  public:
    Udp() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("attacker: cannot bind a UDP socket");
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        address_ = netcore::Address{ntohl(a.sin_addr.s_addr), ntohs(a.sin_port)};
    }
    ~Udp() { ::close(fd_); }
    Udp(const Udp&) = delete;
    Udp& operator=(const Udp&) = delete;

    [[nodiscard]] netcore::Address address() const { return address_; }

    void send(netcore::Address to, std::span<const std::uint8_t> bytes) const {
        const sockaddr_in a = sockaddr_of(to);
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a),
                 sizeof a);
    }
    /// The next datagram waiting, if any.
    std::optional<std::pair<std::vector<std::uint8_t>, netcore::Address>> receive() const {
        std::vector<std::uint8_t> buf(65536);
        sockaddr_in a{};
        socklen_t len = sizeof a;
        const ssize_t n =
            ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&a), &len);
        if (n < 0) return std::nullopt;
        buf.resize(static_cast<std::size_t>(n));
        return std::make_pair(buf, netcore::Address{ntohl(a.sin_addr.s_addr), ntohs(a.sin_port)});
    }

    static sockaddr_in sockaddr_of(netcore::Address to) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(to.ip);
        a.sin_port = htons(to.port);
        return a;
    }

  private:
    int fd_ = -1;
    netcore::Address address_;
};

/// Sends `payload` to `to` as if from `from`: a hand-built IPv4 + UDP header on a raw socket.
/// Root only. Returns false when the raw socket cannot be had.
inline bool spoof(netcore::Address from, netcore::Address to,
                  std::span<const std::uint8_t> payload) {
    const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IP_HDRINCL is implied
    if (fd < 0) return false;
    std::vector<std::uint8_t> packet(sizeof(iphdr) + sizeof(udphdr) + payload.size());
    auto* ip = reinterpret_cast<iphdr*>(packet.data());
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(static_cast<std::uint16_t>(packet.size()));
    ip->saddr = htonl(from.ip);
    ip->daddr = htonl(to.ip);  // the kernel fills in the id and the header checksum
    auto* udp = reinterpret_cast<udphdr*>(packet.data() + sizeof(iphdr));
    udp->source = htons(from.port);
    udp->dest = htons(to.port);
    udp->len = htons(static_cast<std::uint16_t>(sizeof(udphdr) + payload.size()));
    udp->check = 0;  // no checksum: allowed for UDP over IPv4
    std::memcpy(packet.data() + sizeof(iphdr) + sizeof(udphdr), payload.data(), payload.size());
    const sockaddr_in a = Udp::sockaddr_of(to);
    const auto sent = ::sendto(fd, packet.data(), packet.size(), 0,
                               reinterpret_cast<const sockaddr*>(&a), sizeof a);
    ::close(fd);
    return sent == static_cast<ssize_t>(packet.size());
}

/// ENet 1.3 DISCONNECT commands as an attacker who knows the protocol but not the session would
/// forge them: one per peer slot (0..slots-1) and session id (0..3), so one of them matches
/// whatever ENet picked. Each is a whole ENet datagram: header (peer id with the session bits),
/// then the command (DISCONNECT, channel 0xFF, sequence 0) and its data.
inline std::vector<std::vector<std::uint8_t>> forged_disconnects(std::uint16_t slots) {
    std::vector<std::vector<std::uint8_t>> out;
    for (std::uint16_t peer = 0; peer < slots; ++peer) {
        for (std::uint16_t session = 0; session < 4; ++session) {
            const std::uint16_t id =
                static_cast<std::uint16_t>(peer | (session << ENET_PROTOCOL_HEADER_SESSION_SHIFT));
            out.push_back({static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id),
                           ENET_PROTOCOL_COMMAND_DISCONNECT, 0xFF, 0, 0, 0, 0, 0, 0});
        }
    }
    return out;
}

/// Every UDP datagram on the loopback interface (AF_PACKET: root only) whose ports `keep`
/// accepts, each kept once (lo shows each packet twice) with its ports and payload: what an
/// observer on the path, or each side's socket, really saw.
class LoCapture {
  public:
    struct Datagram {
        std::uint16_t from = 0;  ///< source port
        std::uint16_t to = 0;    ///< destination port
        std::vector<std::uint8_t> bytes;
    };

    /// Throws std::runtime_error when lo cannot be captured (not root).
    explicit LoCapture(std::function<bool(std::uint16_t from, std::uint16_t to)> keep)
        : keep_(std::move(keep)) {
        fd_ = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_IP));
        sockaddr_ll at{};
        at.sll_family = AF_PACKET;
        at.sll_protocol = htons(ETH_P_IP);
        at.sll_ifindex = static_cast<int>(if_nametoindex("lo"));
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0)
            throw std::runtime_error("attacker: cannot capture on lo (needs root)");
        // Room for a burst between two polls (hundreds of packets and their acknowledgements).
        const int size = 8 << 20;
        (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    ~LoCapture() { ::close(fd_); }
    LoCapture(const LoCapture&) = delete;
    LoCapture& operator=(const LoCapture&) = delete;

    /// Reads what passed since the last call.
    void poll() {
        std::array<std::uint8_t, 65536> buf;
        for (;;) {
            sockaddr_ll from{};
            socklen_t len = sizeof from;
            const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0,
                                         reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) return;
            if (from.sll_pkttype == PACKET_OUTGOING) continue;  // lo shows each packet twice
            const auto size = static_cast<std::size_t>(n);
            if (size < sizeof(iphdr) + sizeof(udphdr)) continue;
            const auto* ip = reinterpret_cast<const iphdr*>(buf.data());
            const std::size_t ihl = ip->ihl * 4u;
            if (ip->protocol != IPPROTO_UDP || size < ihl + sizeof(udphdr)) continue;
            const auto* udp = reinterpret_cast<const udphdr*>(buf.data() + ihl);
            Datagram d{ntohs(udp->source), ntohs(udp->dest), {}};
            if (!keep_(d.from, d.to)) continue;
            d.bytes.assign(buf.begin() + static_cast<long>(ihl + sizeof(udphdr)),
                           buf.begin() + static_cast<long>(size));
            captured.push_back(std::move(d));
        }
    }

    std::vector<Datagram> captured;

  private:
    int fd_ = -1;
    std::function<bool(std::uint16_t, std::uint16_t)> keep_;
};

/// A sniffer between two players: the UDP payloads travelling between two ports, whichever way.
class Sniffer : public LoCapture {
  public:
    Sniffer(std::uint16_t port_a, std::uint16_t port_b)
        : LoCapture([port_a, port_b](std::uint16_t from, std::uint16_t to) {
              return (from == port_a && to == port_b) || (from == port_b && to == port_a);
          }) {}
};

/// True when `needle` occurs in `hay`.
inline bool contains(std::span<const std::uint8_t> hay, std::string_view needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                       [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }) !=
           hay.end();
}

}  // namespace attacker
