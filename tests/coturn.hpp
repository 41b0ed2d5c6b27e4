// A real coturn turnserver on 127.0.0.1 for tests, and a plain UDP socket to talk to it.
// Test cases that need it exit 77 (CTest's SKIP_RETURN_CODE) when coturn is not installed
// (scripts/setup.sh --with-interop installs it).
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "netcore/address.hpp"
#include "netcore/session.hpp"
#include "stun_message.hpp"

namespace coturn_test {

using netcore::Address;
using netcore::Clock;
using namespace std::chrono_literals;
namespace stun = netcore::detail::stun;

inline sockaddr_in to_sockaddr(Address a) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(a.ip);
    sa.sin_port = htons(a.port);
    return sa;
}

// A plain non-blocking UDP socket: the session's one socket, or a peer's.
class UdpSocket {
  public:
    explicit UdpSocket(Address bind_to) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
        REQUIRE(fd_ >= 0);
        const auto sa = to_sockaddr(bind_to);
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
        REQUIRE(::fcntl(fd_, F_SETFL, O_NONBLOCK) == 0);
        sockaddr_in local{};
        socklen_t len = sizeof local;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) == 0);
        local_ = {ntohl(local.sin_addr.s_addr), ntohs(local.sin_port)};
    }
    ~UdpSocket() { ::close(fd_); }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    [[nodiscard]] Address local() const { return local_; }
    void send_to(Address to, std::span<const std::uint8_t> b) const {
        const auto sa = to_sockaddr(to);
        (void)::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&sa),
                       sizeof sa);
    }
    /// One pending datagram, if any.
    std::optional<std::size_t> receive(std::span<std::uint8_t> buffer, Address& from) const {
        sockaddr_in sa{};
        socklen_t len = sizeof sa;
        const auto n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                  reinterpret_cast<sockaddr*>(&sa), &len);
        if (n < 0) return std::nullopt;
        from = {ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)};
        return static_cast<std::size_t>(n);
    }

  private:
    int fd_;
    Address local_;
};

inline bool udp_port_free(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const auto sa = to_sockaddr({0x7F000001u, port});
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
}

inline bool have_turnserver() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && ::access((dir + "/turnserver").c_str(), X_OK) == 0) return true;
    return false;
}

// Skips the test case (exit 77, CTest's SKIP_RETURN_CODE) when coturn is not installed.
inline void require_turnserver() {
    if (have_turnserver()) return;
    std::fprintf(stderr, "turnserver (coturn) is not installed: skipped\n");
    std::exit(77);
}

// A coturn turnserver on 127.0.0.1 with TURN REST auth, its log in a scratch directory.
class Coturn {
  public:
    struct Options {
        int max_allocate_lifetime = 0;               // s; 0: coturn's default (3600)
        int stale_nonce = 0;                         // s; 0: nonces do not expire
        std::string secret = "netcore-test-secret";  // the TURN REST shared secret
    };

    explicit Coturn(Options options) {
        require_turnserver();
        dir_ = std::filesystem::temp_directory_path() /
               ("netcore_coturn_" + std::to_string(::getpid()) + "_" + std::to_string(++serial_));
        std::filesystem::create_directories(dir_);
        // A listening port and the 16 relay ports after it (plus one: the RFC 5780 alternate
        // port), all free now, below Linux's ephemeral range so that no socket of ours takes one.
        std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                         static_cast<unsigned>(std::time(nullptr)));
        std::uint16_t base = 0;
        for (int attempt = 0; attempt < 200 && base == 0; ++attempt) {
            const auto b = static_cast<std::uint16_t>(20000 + rng() % 12000);
            bool all = true;
            for (std::uint16_t p = b; p < b + 18 && all; ++p) all = udp_port_free(p);
            if (all) base = b;
        }
        REQUIRE(base != 0);
        address_ = {0x7F000001u, base};
        relay_min_ = static_cast<std::uint16_t>(base + 2);
        relay_max_ = static_cast<std::uint16_t>(base + 17);

        std::vector<std::string> args = {"turnserver",
                                         "-n",
                                         "--listening-ip=127.0.0.1",
                                         "--listening-port=" + std::to_string(base),
                                         "--relay-ip=127.0.0.1",
                                         "--min-port=" + std::to_string(relay_min_),
                                         "--max-port=" + std::to_string(relay_max_),
                                         "--use-auth-secret",
                                         "--static-auth-secret=" + options.secret,
                                         "--realm=netcore.test",
                                         "--allow-loopback-peers",
                                         "--no-cli",
                                         "--no-tls",
                                         "--no-dtls",
                                         "--no-tcp",
                                         "--no-tcp-relay",
                                         "--relay-threads=1",
                                         "--log-file=stdout",
                                         "--simple-log",
                                         "--pidfile=" + (dir_ / "turnserver.pid").string()};
        if (options.max_allocate_lifetime > 0)
            args.push_back("--max-allocate-lifetime=" +
                           std::to_string(options.max_allocate_lifetime));
        if (options.stale_nonce > 0)
            args.push_back("--stale-nonce=" + std::to_string(options.stale_nonce));

        args_ = std::move(args);
        spawn(O_TRUNC);
    }

    ~Coturn() {
        stop(SIGTERM);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    Coturn(const Coturn&) = delete;
    Coturn& operator=(const Coturn&) = delete;

    /// Kills the server (SIGKILL: it releases nothing), for good: a TURN server that is down.
    void kill() { stop(SIGKILL); }
    /// Kills the server (SIGKILL: it releases nothing) and starts it again on the same ports,
    /// with every allocation forgotten, as after a crash. Returns at once, without waiting for
    /// it to answer (the sessions of a test go on meanwhile).
    void restart() {
        stop(SIGKILL);
        spawn(O_APPEND, false);
    }

    [[nodiscard]] Address address() const { return address_; }
    [[nodiscard]] std::uint16_t relay_min() const { return relay_min_; }
    [[nodiscard]] std::uint16_t relay_max() const { return relay_max_; }
    [[nodiscard]] std::string log_path() const { return (dir_ / "turnserver.log").string(); }
    /// The end of coturn's log, for failure messages.
    [[nodiscard]] std::string tail(std::size_t lines = 40) const {
        std::ifstream f(log_path());
        std::vector<std::string> all;
        for (std::string line; std::getline(f, line);) all.push_back(line);
        std::string out = "--- end of coturn's log:\n";
        for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
            out += all[i] + "\n";
        return out;
    }

  private:
    // Starts turnserver with args_, its output appended to (or truncating) the log.
    void spawn(int log_mode, bool wait = true) {
        std::vector<char*> argv;
        for (auto& a : args_) argv.push_back(a.data());
        argv.push_back(nullptr);
        const std::string log = log_path();
        const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | log_mode | O_CLOEXEC, 0644);
        REQUIRE(log_fd >= 0);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            // coturn dies with the test, even when a timeout kills the test: no server is left
            // behind holding its ports.
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) ::_exit(1);
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
            ::execvp("turnserver", argv.data());
            ::_exit(127);
        }
        ::close(log_fd);
        const int rc = pid_ > 0 ? 0 : errno;
        REQUIRE(rc == 0);
        if (wait) wait_until_ready();
    }

    // Ends the server with `sig`, then SIGKILL if it lingers.
    void stop(int sig) {
        if (pid_ > 0) {
            ::kill(pid_, sig);
            int status = 0;
            for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
                std::this_thread::sleep_for(20ms);
            if (::waitpid(pid_, &status, WNOHANG) == 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
            }
            pid_ = -1;
        }
    }

    // Until a STUN Binding request is answered: coturn listens.
    void wait_until_ready() {
        UdpSocket probe({0x7F000001u, 0});
        const stun::TransactionId id = {'r', 'e', 'a', 'd', 'y'};
        std::array<std::uint8_t, 64> request{};
        stun::Writer w(request, stun::Method::binding, stun::Class::request, id);
        const auto deadline = Clock::now() + 10s;
        std::array<std::uint8_t, 1500> buffer{};
        while (Clock::now() < deadline) {
            probe.send_to(address_, w.bytes());
            std::this_thread::sleep_for(50ms);
            Address from;
            while (const auto n = probe.receive(buffer, from)) {
                stun::Message m;
                if (stun::parse(std::span(buffer.data(), *n), m) == stun::ParseError::ok &&
                    m.transaction() == id)
                    return;
            }
        }
        FAIL("coturn did not answer a Binding request within 10 s\n" << tail());
    }

    static inline int serial_ = 0;
    std::vector<std::string> args_;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
    Address address_;
    std::uint16_t relay_min_ = 0;
    std::uint16_t relay_max_ = 0;
};

}  // namespace coturn_test
