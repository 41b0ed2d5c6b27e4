// bench_loadgen — many clients on loopback asking one UDP server, counting the answers.
//
// Each client is its own socket (its own source port). Requests go out in sendmmsg batches from
// one client at a time; replies are read with recvmmsg from whichever sockets epoll says are
// readable. At most `--window` requests are unanswered at once, so the generator measures what
// the server answers rather than how fast the kernel drops what it cannot take.
//
// Every client speaks wire version 2 through netcore's SignalChannel (PROTOCOL.md §11.2): before
// the run, all clients send a Hello at once and take the Challenge; each request is then sealed
// anew (a datagram sent twice is a replay, dropped). A client that got no Challenge (the echo
// server) sends datagrams of the size its sealed request would have.
//
// Mixes (--mix):
//   refresh    Register with the same name, instance and address: the server's common case
//              (the first one registers, every later one is a refresh on the fast path)
//   register   Register alternating two names per client: a rename each time (new name + release)
//   introduce  IntroduceRequest for a registered neighbour: two Introductions per request
//   stun       STUN Binding request (RFC 8489): 20-byte header, no attributes
//
// Prints one line: `loadgen: mix=M seconds=S requests=R replies=A answered_per_s=X lost=L`.
// Usage: bench_loadgen --port P [--server-key HEX] [--mix M] [--seconds S] [--clients N]
//        [--batch B] [--window W]      (no --server-key: trust the key of the first Challenge)
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/keys.hpp"
#include "netcore/protocol.hpp"
#include "signal_channel.hpp"
#include "udp_batch.hpp"

namespace protocol = netcore::protocol;
using Clock = std::chrono::steady_clock;
using netcore::detail::SignalChannel;

namespace {

constexpr unsigned kMaxBatch = 256;
constexpr std::size_t kSlotSize = 2048;  // bytes: replies are under 200
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
    std::optional<netcore::PublicKey> server_key;
    std::string mix = "refresh";
    double seconds = 3.0;
    unsigned clients = 256;
    unsigned batch = 32;
    unsigned window = 1024;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "bench_loadgen: %s\nusage: bench_loadgen --port P [--server-key HEX] [--mix "
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
        } else if (a == "--server-key") {
            o.server_key = netcore::parse_key(v);
            if (!o.server_key) usage("--server-key needs 64 hex digits");
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

// Names of this run (`run` tells runs apart): names are held by their run's key, so a later
// mix on the same server must not ask for an earlier mix's names while those live.
std::string client_name(std::uint64_t run, unsigned i, char suffix) {
    char name[protocol::kMaxNameLength + 1];
    std::snprintf(name, sizeof name, "c%06llu-%u%c", static_cast<unsigned long long>(run % 1000000),
                  i, suffix);
    return name;
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

// One client: a socket, its channel to the server, and the requests it cycles through.
struct Client {
    int fd = -1;
    std::unique_ptr<SignalChannel> channel;
    std::vector<std::string> names;          // what `signals` view
    std::vector<protocol::Message> signals;  // sealed anew at every send
    std::vector<Payload> requests;           // sent as they are (STUN)
    std::size_t next = 0;
    std::array<Payload, kMaxBatch> sealed;  // this batch's datagrams
};

// The size `m` has once sealed: what a client with no key sends in its place.
std::size_t sealed_size(const protocol::Message& m) {
    std::array<std::uint8_t, protocol::kMaxDatagramSize> inner{};
    return protocol::kClientSealedHead + protocol::encode_inner(m, inner) + protocol::kTagSize;
}

// The next request of `c` into `out`: a signal sealed under its channel (or, unkeyed, as many
// zeros), or a STUN request as it is.
void next_request(Client& c, Payload& out) {
    if (c.signals.empty()) {
        out = c.requests[c.next];
        c.next = (c.next + 1) % c.requests.size();
        return;
    }
    const protocol::Message& m = c.signals[c.next];
    c.next = (c.next + 1) % c.signals.size();
    out.resize(protocol::kMaxDatagramSize);
    const std::size_t n = c.channel->keyed() ? c.channel->seal(m, out) : 0;
    out.resize(n > 0 ? n : sealed_size(m));
    if (n == 0) std::fill(out.begin(), out.end(), 0);
}

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
        Payload& p = c.sealed[i];
        next_request(c, p);
        iov[i] = {p.data(), p.size()};
        msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&server);
        msgs[i].msg_hdr.msg_namelen = sizeof server;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::sendmmsg(c.fd, msgs.data(), count, 0);
    return n > 0 ? static_cast<unsigned>(n) : 0;
}

// The address validation round trip (PROTOCOL.md §4.10), for every client at once: each sends
// a Hello, and takes the Challenge that comes back (the server's key, salt and a cookie for its
// socket, valid 30 to 60 s; refreshes from a registered socket need none). Gives up after a
// second: a client with no Challenge (the echo server's) stays unkeyed. Returns how many keyed.
unsigned handshake(std::vector<Client>& clients, const sockaddr_in& server) {
    std::array<std::uint8_t, protocol::kHelloSize> hello{};
    for (auto& c : clients) {
        const std::size_t n = c.channel->hello(hello);
        ::sendto(c.fd, hello.data(), n, 0, reinterpret_cast<const sockaddr*>(&server),
                 sizeof server);
    }
    unsigned keyed = 0;
    std::array<std::uint8_t, kSlotSize> buf{};
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (keyed < clients.size() && Clock::now() < until) {
        bool any = false;
        for (auto& c : clients) {
            if (c.channel->keyed()) continue;
            const ssize_t n = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n <= 0) continue;
            any = true;
            protocol::Envelope e;
            if (protocol::decode_envelope(std::span(buf.data(), static_cast<std::size_t>(n)), e) ==
                    protocol::DecodeError::ok &&
                e.type == protocol::EnvelopeType::challenge &&
                c.channel->on_challenge(e, true) == SignalChannel::ChallengeOutcome::new_salt)
                ++keyed;
        }
        if (!any) ::poll(nullptr, 0, 1);
    }
    return keyed;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const sockaddr_in server = bench::loopback(o.port);
    std::mt19937_64 random{std::random_device{}()};

    const int ep = ::epoll_create1(0);
    std::vector<Client> clients(o.clients);
    const bool signals = o.mix != "stun";
    for (unsigned i = 0; i < o.clients; ++i) {
        Client& c = clients[i];
        c.fd = bench::bound_socket(0, true);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
        c.channel = std::make_unique<SignalChannel>(o.server_key);
    }
    const unsigned keyed = signals ? handshake(clients, server) : 0;
    // This run's instances and names: a name is held by its instance and its run's key
    // together, so a later mix on the same server (new keys) must use names of its own, or they
    // would be name_taken until the earlier mix's expire.
    const std::uint64_t run = random() << 16;
    for (unsigned i = 0; i < o.clients; ++i) {
        Client& c = clients[i];
        const std::uint64_t instance = run + i + 1;
        c.names = {client_name(run, i, 'a'), client_name(run, i, 'b'),
                   client_name(run, i ^ 1U, 'a')};
        if (o.mix == "refresh") {
            c.signals.push_back(protocol::RegisterRequest{instance, c.names[0], {}});
        } else if (o.mix == "register") {
            c.signals.push_back(protocol::RegisterRequest{instance, c.names[0], {}});
            c.signals.push_back(protocol::RegisterRequest{instance, c.names[1], {}});
        } else if (o.mix == "introduce") {
            // Every client registers first (its neighbour exists: --clients is rounded to even),
            // as an open host: the neighbour's request is then consented at once (§4.12).
            c.signals.push_back(
                protocol::RegisterRequest{instance, c.names[0], {}, protocol::RegisterFlags::open});
            send_batch(c, server, 1);
            c.signals = {protocol::IntroduceRequest{instance, c.names[2]}};  // neighbours pair up
            c.next = 0;
        } else {
            for (int k = 0; k < 16; ++k) c.requests.push_back(stun_binding_request(random));
        }
    }
    if (signals && keyed < o.clients)
        std::fprintf(stderr,
                     "bench_loadgen: %u of %u clients got no Challenge (not a rendezvous?)\n",
                     o.clients - keyed, o.clients);
    const std::uint64_t replies_per_request = o.mix == "introduce" ? 2 : 1;

    if (o.mix == "introduce") {
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
