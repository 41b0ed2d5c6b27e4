#include "lossy_send.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <utility>

namespace lossy {

namespace {

struct Armed {
    Rule rule;
    std::size_t dropped = 0;
    std::size_t passed = 0;
};
Armed* g_armed = nullptr;

std::uint16_t port_of(const sockaddr_in& a) {
    return ntohs(a.sin_port);
}

}  // namespace

Loss::Loss(Rule rule) {
    g_armed = new Armed{std::move(rule)};
}
Loss::~Loss() {
    delete g_armed;
    g_armed = nullptr;
}
std::size_t Loss::dropped() const {
    return g_armed->dropped;
}
std::size_t Loss::passed() const {
    return g_armed->passed;
}

Rule between(std::uint16_t a, std::uint16_t b, double share, std::uint32_t seed) {
    auto draw = std::make_shared<std::mt19937>(seed);
    return [=](std::uint16_t from, std::uint16_t to) {
        if (!((from == a && to == b) || (from == b && to == a))) return false;
        return std::uniform_real_distribution<double>(0.0, 1.0)(*draw) < share;
    };
}

Rule blackout_from(std::uint16_t from, std::uint16_t to, std::chrono::milliseconds span) {
    const auto until = std::chrono::steady_clock::now() + span;
    return [=](std::uint16_t f, std::uint16_t t) {
        return f == from && t == to && std::chrono::steady_clock::now() < until;
    };
}

// Whether the armed rule drops this datagram (IPv4 with a destination only).
bool drops(int fd, const msghdr* message) {
    if (g_armed == nullptr || message == nullptr || message->msg_name == nullptr ||
        message->msg_namelen < sizeof(sockaddr_in))
        return false;
    const auto* to = static_cast<const sockaddr_in*>(message->msg_name);
    if (to->sin_family != AF_INET) return false;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&from), &len) != 0) return false;
    if (g_armed->rule && g_armed->rule(port_of(from), port_of(*to))) {
        ++g_armed->dropped;
        return true;
    }
    ++g_armed->passed;
    return false;
}

}  // namespace lossy

// ENet's enet_socket_send() (libenet.so) resolves sendmsg here first. A dropped datagram is
// reported as sent, as a lossy network would.
extern "C" ssize_t sendmsg(int fd, const msghdr* message, int flags) {
    if (lossy::drops(fd, message)) {
        ssize_t total = 0;
        for (std::size_t i = 0; i < message->msg_iovlen; ++i)
            total += static_cast<ssize_t>(message->msg_iov[i].iov_len);
        return total;
    }
    return ::syscall(SYS_sendmsg, fd, message, flags);
}
