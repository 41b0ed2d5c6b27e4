// The UDP socket, over enet_socket_*.
#include "udp_socket.hpp"

#include <cerrno>
#include <cstring>

namespace rendezvous {

namespace {

ENetAddress to_enet(netcore::Address a) {
    ENetAddress e{};
    e.host = ENET_HOST_TO_NET_32(a.ip);  // ENet keeps the host in network byte order
    e.port = a.port;                     // ... and the port in host byte order
    return e;
}

netcore::Address from_enet(const ENetAddress& e) {
    return netcore::Address{ENET_NET_TO_HOST_32(e.host), e.port};
}

}  // namespace

std::string UdpSocket::open(netcore::Address bind) {
    close();
    if (enet_initialize() != 0) return "cannot initialise ENet";
    enet_initialized_ = true;

    socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
    if (socket_ == ENET_SOCKET_NULL) {
        close();
        return "cannot create a UDP socket";
    }
    const ENetAddress address = to_enet(bind);
    if (enet_socket_bind(socket_, &address) != 0) {
        // ENet's portable layer hides the reason; on POSIX it is still in errno.
        const std::string why = std::strerror(errno);
        close();
        return "cannot bind " + bind.to_string() + ": " + why;
    }
    if (enet_socket_set_option(socket_, ENET_SOCKOPT_NONBLOCK, 1) != 0) {
        close();
        return "cannot make the socket non-blocking";
    }
    ENetAddress bound{};
    if (enet_socket_get_address(socket_, &bound) != 0) {
        close();
        return "cannot read the bound address";
    }
    local_ = from_enet(bound);
    return {};
}

void UdpSocket::close() {
    if (socket_ != ENET_SOCKET_NULL) {
        enet_socket_destroy(socket_);
        socket_ = ENET_SOCKET_NULL;
    }
    if (enet_initialized_) {
        enet_deinitialize();
        enet_initialized_ = false;
    }
    local_ = {};
}

UdpSocket::Wait UdpSocket::wait(std::uint32_t timeout_ms) {
    enet_uint32 condition = ENET_SOCKET_WAIT_RECEIVE | ENET_SOCKET_WAIT_INTERRUPT;
    if (enet_socket_wait(socket_, &condition, timeout_ms) != 0) return Wait::error;
    if (condition & ENET_SOCKET_WAIT_INTERRUPT) return Wait::interrupted;
    if (condition & ENET_SOCKET_WAIT_RECEIVE) return Wait::readable;
    return Wait::timeout;
}

int UdpSocket::receive(std::span<std::uint8_t> buffer, netcore::Address& from) {
    ENetBuffer b{};
    b.data = buffer.data();
    b.dataLength = buffer.size();
    ENetAddress source{};
    const int n = enet_socket_receive(socket_, &source, &b, 1);
    if (n > 0) from = from_enet(source);
    return n;
}

bool UdpSocket::send(netcore::Address to, std::span<const std::uint8_t> bytes) {
    const ENetAddress address = to_enet(to);
    ENetBuffer b{};
    // ENet's buffer is not const-qualified; sending only reads it.
    b.data = const_cast<std::uint8_t*>(bytes.data());
    b.dataLength = bytes.size();
    const int n = enet_socket_send(socket_, &address, &b, 1);
    return n >= 0 && static_cast<std::size_t>(n) == bytes.size();
}

}  // namespace rendezvous
