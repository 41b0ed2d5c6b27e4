// The loopback tap: one socket of ENet's portable layer, read without blocking.
#include "enet_tap.hpp"

#include <utility>

#include "enet_host.hpp"

namespace netcore::detail {

namespace {
constexpr std::uint32_t kLoopback = 0x7F000001u;  // 127.0.0.1
}  // namespace

EnetTap::~EnetTap() {
    close();
}

EnetTap::EnetTap(EnetTap&& other) noexcept
    : socket_(std::exchange(other.socket_, ENET_SOCKET_NULL)),
      address_(std::exchange(other.address_, Address{})),
      enet_port_(std::exchange(other.enet_port_, 0)),
      dropped_foreign_(std::exchange(other.dropped_foreign_, 0)),
      dropped_oversize_(std::exchange(other.dropped_oversize_, 0)) {}

EnetTap& EnetTap::operator=(EnetTap&& other) noexcept {
    if (this != &other) {
        close();
        socket_ = std::exchange(other.socket_, ENET_SOCKET_NULL);
        address_ = std::exchange(other.address_, Address{});
        enet_port_ = std::exchange(other.enet_port_, 0);
        dropped_foreign_ = std::exchange(other.dropped_foreign_, 0);
        dropped_oversize_ = std::exchange(other.dropped_oversize_, 0);
    }
    return *this;
}

void EnetTap::close() {
    if (socket_ != ENET_SOCKET_NULL) enet_socket_destroy(socket_);
    socket_ = ENET_SOCKET_NULL;
    address_ = {};
}

bool EnetTap::open(std::uint16_t enet_port) {
    close();
    // The caller has initialized ENet (EnetHost::open does, and enet_port comes from it).
    socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
    if (socket_ == ENET_SOCKET_NULL) return false;
    const ENetAddress bind = to_enet(Address{kLoopback, 0});
    ENetAddress bound{};
    // A smaller buffer than asked for is not an error: the kernel caps it.
    if (enet_socket_bind(socket_, &bind) != 0 ||
        enet_socket_set_option(socket_, ENET_SOCKOPT_NONBLOCK, 1) != 0 ||
        enet_socket_get_address(socket_, &bound) != 0) {
        close();
        return false;
    }
    enet_socket_set_option(socket_, ENET_SOCKOPT_RCVBUF, kReceiveBuffer);
    address_ = from_enet(bound);
    enet_port_ = enet_port;
    return true;
}

EnetTap::Read EnetTap::read_one(std::span<std::uint8_t> buffer,
                                std::span<const std::uint8_t>& datagram) {
    if (socket_ == ENET_SOCKET_NULL) return Read::empty;
    ENetBuffer b;
    b.data = buffer.data();
    b.dataLength = buffer.size();
    // enet_socket_receive returns 0 both for "nothing pending" and for an empty datagram; it
    // fills the source only for a datagram, and no datagram comes from port 0.
    ENetAddress from{};
    const int n = enet_socket_receive(socket_, &from, &b, 1);
    if (n < 0) {  // truncated (MSG_TRUNC: larger than the buffer, and consumed) or an error
        ++dropped_oversize_;
        return Read::dropped;
    }
    if (n == 0 && from.port == 0) return Read::empty;
    if (from.port != enet_port_) {
        ++dropped_foreign_;
        return Read::dropped;
    }
    if (n == 0) return Read::dropped;  // ENet never sends an empty datagram
    datagram = std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n));
    return Read::datagram;
}

}  // namespace netcore::detail
