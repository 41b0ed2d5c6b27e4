// The UDP socket, over enet_socket_*, and recvmmsg/sendmmsg on Linux.
#include "udp_socket.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#if defined(__linux__)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

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

// Big enough for any UDP datagram (65 507 bytes of IPv4 payload), so each is read whole.
constexpr std::size_t kSlotSize = 65536;  // bytes

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
    slots_.resize(kBatchSize * kSlotSize);
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
    slots_.clear();
    slots_.shrink_to_fit();
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

#if defined(__linux__)
// ENetSocket is the file descriptor on Unix, so the batch calls use it directly.

int UdpSocket::receive_batch(std::vector<Received>& out) {
    out.clear();
    std::array<sockaddr_in, kBatchSize> from{};
    std::array<iovec, kBatchSize> iov{};
    std::array<mmsghdr, kBatchSize> msgs{};
    // Loops only while whole batches are empty datagrams: those are skipped, and "nothing" must
    // mean the socket is drained.
    while (out.empty()) {
        for (std::size_t i = 0; i < kBatchSize; ++i) {
            iov[i] = {slots_.data() + i * kSlotSize, kSlotSize};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = -1;
        do {
            n = ::recvmmsg(socket_, msgs.data(), kBatchSize, MSG_DONTWAIT, nullptr);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (n == 0) return 0;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            if (msgs[i].msg_len == 0 || from[i].sin_family != AF_INET) continue;
            out.push_back({{slots_.data() + i * kSlotSize, msgs[i].msg_len},
                           {ntohl(from[i].sin_addr.s_addr), ntohs(from[i].sin_port)}});
        }
    }
    return static_cast<int>(out.size());
}

std::size_t UdpSocket::send_batch(std::span<const Datagram> datagrams) {
    std::size_t done = 0;
    while (done < datagrams.size()) {
        const std::size_t count = std::min(kBatchSize, datagrams.size() - done);
        std::array<sockaddr_in, kBatchSize> to{};
        std::array<iovec, kBatchSize> iov{};
        std::array<mmsghdr, kBatchSize> msgs{};
        for (std::size_t i = 0; i < count; ++i) {
            const Datagram& d = datagrams[done + i];
            to[i].sin_family = AF_INET;
            to[i].sin_addr.s_addr = htonl(d.to.ip);
            to[i].sin_port = htons(d.to.port);
            // iovec is not const-qualified; sending only reads it.
            iov[i] = {const_cast<std::uint8_t*>(d.bytes.data()), d.size};
            msgs[i].msg_hdr.msg_name = &to[i];
            msgs[i].msg_hdr.msg_namelen = sizeof to[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = -1;
        do {
            n = ::sendmmsg(socket_, msgs.data(), static_cast<unsigned>(count), 0);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) return done;  // datagrams[done] failed
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            if (msgs[i].msg_len != datagrams[done + i].size) return done + i;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

#else  // the portable path: one datagram per call through ENet

int UdpSocket::receive_batch(std::vector<Received>& out) {
    out.clear();
    for (std::size_t i = 0; i < kBatchSize; ++i) {
        netcore::Address from;
        const int n = receive({slots_.data() + i * kSlotSize, kSlotSize}, from);
        if (n == 0) break;
        if (n < 0) return out.empty() ? -1 : static_cast<int>(out.size());
        out.push_back({{slots_.data() + i * kSlotSize, static_cast<std::size_t>(n)}, from});
    }
    return static_cast<int>(out.size());
}

std::size_t UdpSocket::send_batch(std::span<const Datagram> datagrams) {
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
        if (!send(datagrams[i].to, datagrams[i].view())) return i;
    }
    return datagrams.size();
}

#endif

}  // namespace rendezvous
