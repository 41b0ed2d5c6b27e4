// A closed port says so at once (ICMP port unreachable): the ENet socket hands the kernel's ICMP
// errors to its listener and keeps working through them, and a session whose rendezvous port is
// closed fails in about one register_retry instead of register_timeout. Real sockets on
// 127.0.0.1, where the kernel answers a datagram to a closed port with ICMP port unreachable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "enet_host.hpp"
#include "netcore/session.hpp"

using namespace netcore;
using namespace netcore::detail;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kLoopback = 0x7F000001u;  // 127.0.0.1
constexpr auto kDeadline = 10s;  // generous: a loaded 2-core machine; the cases take < 1 s

/// A plain UDP socket on 127.0.0.1 that can send and receive.
class UdpSocket {
  public:
    UdpSocket() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(kLoopback);
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0);
        socklen_t length = sizeof at;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &length) == 0);
        address_ = Address{kLoopback, ntohs(at.sin_port)};
    }
    ~UdpSocket() { close(); }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    [[nodiscard]] Address address() const { return address_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void send(Address to, const std::string& data) {
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(to.ip);
        at.sin_port = htons(to.port);
        REQUIRE(::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&at),
                         sizeof at) == static_cast<ssize_t>(data.size()));
    }
    /// The next datagram, waiting up to kDeadline; empty when none came.
    std::string receive() {
        timeval wait{static_cast<time_t>(kDeadline.count()), 0};
        REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) == 0);
        char buf[512];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

  private:
    int fd_ = -1;
    Address address_;
};

/// A loopback port nothing listens on: bound, read, closed.
Address closed_port() {
    UdpSocket s;
    return s.address();
}

struct Recorder final : HostListener {
    std::vector<Unreachable> unreachable;
    std::vector<std::string> datagrams;
    bool on_datagram(Incoming& in) override {
        datagrams.emplace_back(in.data.begin(), in.data.end());
        return true;
    }
    void on_enet_event(ENetEvent& /*event*/) override {}
    void on_unreachable(const Unreachable& error) override { unreachable.push_back(error); }
};

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool run_until(const std::function<bool()>& done, const std::function<void()>& frame) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        frame();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

}  // namespace

TEST_CASE("the host reports a closed port's ICMP error and keeps sending and receiving",
          "[unreachable]") {
    EnetHost host;
    REQUIRE(host.open(Address{kLoopback, 0}, 1, 2));
    CHECK(host.watching_unreachable());  // on from open()
    Recorder events;
    UdpSocket friend_;
    const Address closed = closed_port();

    REQUIRE(host.send_raw(closed, bytes("anyone?")));
    // Once the ICMP error is in, the socket holds it pending: the next send meets it (-1,
    // ECONNREFUSED), and goes out all the same.
    pollfd socket{host.get()->socket, 0, 0};  // POLLERR is always reported
    REQUIRE(::poll(&socket, 1, static_cast<int>(kDeadline / 1ms)) == 1);
    REQUIRE((socket.revents & POLLERR) != 0);
    REQUIRE(host.send_raw(friend_.address(), bytes("to a friend")));
    CHECK(friend_.receive() == "to a friend");
    friend_.send(host.local_address(), "from a friend");

    REQUIRE(run_until([&] { return !events.unreachable.empty() && !events.datagrams.empty(); },
                      [&] { host.service(events); }));
    const Unreachable& u = events.unreachable.front();
    CHECK(u.destination == closed);
    CHECK(u.port_unreachable());
    CHECK(u.from == kLoopback);
    CHECK(events.datagrams == std::vector<std::string>{"from a friend"});
    CHECK(host.unreachable_reported() == events.unreachable.size());
    // The pending error was cleared, not handed to ENet's receive.
    CHECK(host.service_errors() == 0);
}

TEST_CASE("once the watch is off, ICMP errors are neither reported nor returned by a send",
          "[unreachable]") {
    EnetHost host;
    REQUIRE(host.open(Address{kLoopback, 0}, 1, 2));
    host.watch_unreachable(false);
    CHECK_FALSE(host.watching_unreachable());
    Recorder events;
    UdpSocket friend_;
    const Address closed = closed_port();

    for (int i = 0; i < 3; ++i) {
        REQUIRE(host.send_raw(closed, bytes("anyone?")));
        REQUIRE(host.send_raw(friend_.address(), bytes("to a friend")));
        CHECK(friend_.receive() == "to a friend");
    }
    friend_.send(host.local_address(), "from a friend");
    REQUIRE(run_until([&] { return !events.datagrams.empty(); }, [&] { host.service(events); }));
    CHECK(events.unreachable.empty());
    CHECK(host.unreachable_reported() == 0);
    CHECK(host.service_errors() == 0);
}

TEST_CASE("a session whose rendezvous port is closed fails with server_unreachable at once",
          "[unreachable]") {
    const Address closed = closed_port();
    Config config;
    config.server = closed;
    config.name = "alice";
    // A failure that waited for the timeout would take 20 s, not well under 1.5.
    config.register_timeout = Duration(20000);
    Session session(config);
    const auto started = Clock::now();
    REQUIRE(session.start(started) == Error::none);

    std::vector<Event> errors;
    REQUIRE(run_until([&] { return !errors.empty(); },
                      [&] {
                          session.update(Clock::now());
                          Event e;
                          while (session.poll(e))
                              if (e.type == EventType::error) errors.push_back(e);
                      }));
    const auto took = Clock::now() - started;
    CHECK(took < 1500ms);
    CHECK(errors.size() == 1);
    CHECK(errors.front().error == Error::server_unreachable);
    CHECK(errors.front().detail == "the rendezvous at " + closed.to_string() +
                                       " refused: nothing listens on that port (ICMP port "
                                       "unreachable)");
    CHECK(session.state() == State::failed);
    // Two attempts drew the error: one is never enough (docs/SECURITY.md).
    CHECK(session.stats().registrations_sent == 2);
}
