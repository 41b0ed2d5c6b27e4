// bench_loadgen — many clients on loopback asking one UDP server, counting the answers.
//
// Each client is its own socket (its own source port). Requests go out in sendmmsg batches from
// one client at a time; replies are read with recvmmsg from whichever sockets epoll says are
// readable. At most `--window` requests are unanswered at once, so the generator measures what
// the server answers rather than how fast the kernel drops what it cannot take.
//
// Mixes (--mix):
//   refresh    Register with the same name, instance and address: the server's common case
//   register   Register alternating two names per client: a rename each time (new name + release)
//   introduce  IntroduceRequest for a registered neighbour: two Introductions per request
//   stun       STUN Binding request (RFC 8489): 20-byte header, no attributes
//
// Prints one line: `loadgen: mix=M seconds=S requests=R replies=A answered_per_s=X lost=L`.
// Usage: bench_loadgen --port P [--mix M] [--seconds S] [--clients N] [--batch B] [--window W]
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/protocol.hpp"
#include "udp_batch.hpp"

namespace protocol = netcore::protocol;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kMaxBatch = 256;
constexpr std::size_t kSlotSize = 2048;  // bytes: replies are under 100
// No reply for this long while the window is full: count what is outstanding as lost.
constexpr auto kLossTimeout = std::chrono::milliseconds(20);
// Traffic before this is not counted: the server's table and the caches warm up.
constexpr auto kWarmup = std::chrono::milliseconds(200);

// RFC 8489 section 5: the magic cookie in every STUN header.
constexpr std::uint32_t kStunMagicCookie = 0x2112A442;
constexpr std::uint16_t kStunBindingRequest = 0x0001;
constexpr std::size_t kStunHeaderSize = 20;  // bytes

struct Options {
    std::uint16_t port = 0;
    std::string mix = "refresh";
    double seconds = 3.0;
    unsigned clients = 256;
    unsigned batch = 32;
    unsigned window = 1024;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "bench_loadgen: %s\nusage: bench_loadgen --port P [--mix "
                 "refresh|register|introduce|stun] [--seconds S] [--clients N] [--batch B] "
                 "[--window W]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) usage("an option lacks its value");
        const char* v = argv[++i];
        if (a == "--port") {
            o.port = static_cast<std::uint16_t>(std::atoi(v));
        } else if (a == "--mix") {
            o.mix = v;
        } else if (a == "--seconds") {
            o.seconds = std::atof(v);
        } else if (a == "--clients") {
            o.clients = static_cast<unsigned>(std::atoi(v));
        } else if (a == "--batch") {
            o.batch = static_cast<unsigned>(std::atoi(v));
        } else if (a == "--window") {
            o.window = static_cast<unsigned>(std::atoi(v));
        } else {
            usage("unknown option");
        }
    }
    if (o.port == 0) usage("--port is required");
    if (o.mix != "refresh" && o.mix != "register" && o.mix != "introduce" && o.mix != "stun")
        usage("unknown mix");
    o.clients &= ~1U;  // introduce pairs neighbours
    if (o.clients < 2 || o.batch < 1 || o.batch > kMaxBatch || o.window < o.batch)
        usage("need --clients >= 2, 1 <= --batch <= 256, --window >= --batch");
    return o;
}

using Payload = std::vector<std::uint8_t>;

Payload encode(const protocol::Message& m) {
    Payload p(protocol::kMaxDatagramSize);
    p.resize(protocol::encode(m, p));
    if (p.empty()) usage("a request does not encode");
    return p;
}

std::string client_name(unsigned i, char suffix) {
    return "client" + std::to_string(i) + suffix;
}

Payload stun_binding_request(std::mt19937_64& random) {
    Payload p(kStunHeaderSize);
    p[0] = kStunBindingRequest >> 8;
    p[1] = kStunBindingRequest & 0xff;
    p[2] = p[3] = 0;  // message length: no attributes
    for (int i = 0; i < 4; ++i)
        p[static_cast<std::size_t>(4 + i)] =
            static_cast<std::uint8_t>(kStunMagicCookie >> (24 - 8 * i));
    for (std::size_t i = 8; i < kStunHeaderSize; ++i) p[i] = static_cast<std::uint8_t>(random());
    return p;
}

// One client: a socket and the requests it cycles through.
struct Client {
    int fd = -1;
    std::vector<Payload> requests;
    std::size_t next = 0;
    protocol::Cookie cookie{};  // from the server's Challenge (PROTOCOL.md §4.1)
};

// Reads every datagram waiting on `fd`; returns how many.
std::uint64_t drain(int fd) {
    static std::array<std::array<char, kSlotSize>, kMaxBatch> slots;
    static std::array<iovec, kMaxBatch> iov{};
    static std::array<mmsghdr, kMaxBatch> msgs{};
    std::uint64_t total = 0;
    for (;;) {
        for (unsigned i = 0; i < kMaxBatch; ++i) {
            iov[i] = {slots[i].data(), kSlotSize};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::recvmmsg(fd, msgs.data(), kMaxBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return total;
        total += static_cast<std::uint64_t>(n);
    }
}

// Sends `count` requests from `c` to the server in one sendmmsg. Returns how many were taken.
unsigned send_batch(Client& c, const sockaddr_in& server, unsigned count) {
    std::array<iovec, kMaxBatch> iov{};
    std::array<mmsghdr, kMaxBatch> msgs{};
    for (unsigned i = 0; i < count; ++i) {
        Payload& p = c.requests[c.next];
        c.next = (c.next + 1) % c.requests.size();
        iov[i] = {p.data(), p.size()};
        msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&server);
        msgs[i].msg_hdr.msg_namelen = sizeof server;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::sendmmsg(c.fd, msgs.data(), count, 0);
    return n > 0 ? static_cast<unsigned>(n) : 0;
}

// The address validation round trip (PROTOCOL.md §4.1): a Register without a cookie is answered
// with a Challenge; later Registers from this socket carry its cookie (valid 30 to 60 s, longer
// than a run). Zeros if no Challenge came back within a second.
protocol::Cookie obtain_cookie(int fd, const sockaddr_in& server, std::uint64_t instance,
                               const std::string& name) {
    const Payload hello = encode(protocol::RegisterRequest{instance, {}, name, {}});
    ::sendto(fd, hello.data(), hello.size(), 0, reinterpret_cast<const sockaddr*>(&server),
             sizeof server);
    std::array<std::uint8_t, 512> buf{};
    pollfd pfd{fd, POLLIN, 0};
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (Clock::now() < until && ::poll(&pfd, 1, 100) >= 0) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0) continue;
        protocol::Message m;
        if (protocol::decode(std::span(buf.data(), static_cast<std::size_t>(n)), m) ==
            protocol::DecodeError::ok) {
            if (const auto* ch = std::get_if<protocol::Challenge>(&m)) return ch->cookie;
        }
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const sockaddr_in server = bench::loopback(o.port);
    std::mt19937_64 random{std::random_device{}()};

    const int ep = ::epoll_create1(0);
    std::vector<Client> clients(o.clients);
    for (unsigned i = 0; i < o.clients; ++i) {
        Client& c = clients[i];
        c.fd = bench::bound_socket(0, true);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
        const std::uint64_t instance = i + 1;
        const std::string a = client_name(i, 'a');
        const std::string b = client_name(i, 'b');
        const bool registers = o.mix == "refresh" || o.mix == "register" || o.mix == "introduce";
        const protocol::Cookie cookie =
            registers ? obtain_cookie(c.fd, server, instance, a) : protocol::Cookie{};
        if (o.mix == "refresh") {
            c.requests.push_back(encode(protocol::RegisterRequest{instance, cookie, a, {}}));
        } else if (o.mix == "register") {
            c.requests.push_back(encode(protocol::RegisterRequest{instance, cookie, a, {}}));
            c.requests.push_back(encode(protocol::RegisterRequest{instance, cookie, b, {}}));
        } else if (o.mix == "introduce") {
            c.cookie = cookie;
            const std::string peer = client_name(i ^ 1U, 'a');  // neighbours pair up
            c.requests.push_back(encode(protocol::IntroduceRequest{instance, peer}));
        } else {
            for (int k = 0; k < 16; ++k) c.requests.push_back(stun_binding_request(random));
        }
    }
    const std::uint64_t replies_per_request = o.mix == "introduce" ? 2 : 1;

    if (o.mix == "introduce") {
        // Every client registers first (and its neighbour exists: --clients is rounded to even).
        for (unsigned i = 0; i < o.clients; ++i) {
            Client c = clients[i];
            c.requests = {
                encode(protocol::RegisterRequest{i + 1, c.cookie, client_name(i, 'a'), {}})};
            c.next = 0;
            send_batch(c, server, 1);
        }
        const auto until = Clock::now() + std::chrono::milliseconds(500);
        while (Clock::now() < until) {
            for (auto& c : clients) drain(c.fd);
        }
    }

    std::array<epoll_event, 1024> events{};
    std::uint64_t requests = 0;  // sent after the warm-up
    std::uint64_t replies = 0;   // received after the warm-up
    std::uint64_t lost = 0;
    std::uint64_t outstanding = 0;  // in replies
    const auto start = Clock::now();
    const auto counted_from = start + kWarmup;
    const auto end = counted_from + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(o.seconds));
    auto last_progress = start;
    unsigned turn = 0;
    bool counting = false;
    for (;;) {
        const auto now = Clock::now();
        if (now >= end) break;
        if (!counting && now >= counted_from) counting = true;

        const bool room = outstanding + o.batch * replies_per_request <=
                          std::uint64_t{o.window} * replies_per_request;
        if (room) {
            const unsigned n = send_batch(clients[turn], server, o.batch);
            turn = (turn + 1) % o.clients;
            outstanding += n * replies_per_request;
            if (counting) requests += n;
        }
        const int ready =
            ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), room ? 0 : 1);
        std::uint64_t got = 0;
        for (int i = 0; i < ready; ++i)
            got += drain(clients[events[static_cast<std::size_t>(i)].data.u32].fd);
        if (got > 0) {
            last_progress = now;
            outstanding -= std::min(outstanding, got);
            if (counting) replies += got;
        } else if (!room && now - last_progress > kLossTimeout) {
            lost += outstanding;
            outstanding = 0;
            last_progress = now;
        }
    }
    const double seconds = o.seconds;
    std::printf(
        "loadgen: mix=%s seconds=%.1f clients=%u requests=%llu replies=%llu "
        "answered_per_s=%.0f lost=%llu\n",
        o.mix.c_str(), seconds, o.clients, static_cast<unsigned long long>(requests),
        static_cast<unsigned long long>(replies), static_cast<double>(replies) / seconds,
        static_cast<unsigned long long>(lost));
    for (auto& c : clients) ::close(c.fd);
    ::close(ep);
    return 0;
}
