// Consent at the rendezvous (docs/PROTOCOL.md §4.12): the server introduces two players only when
// the asked one consented, tells an asker nothing it would not tell about an unknown name, caps
// what one source may store, and passes on only LAN candidates in LAN ranges. Server logic with
// the Harness ([unit]); sessions and a flood from 20 source IPs over loopback ([loopback]).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <enet/enet.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "loopback.hpp"
#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

constexpr std::uint8_t kMutual = 0;  // RegisterFlags: no open bit

AddressList lan(std::initializer_list<Address> items) {
    AddressList l;
    for (const auto a : items) l.push(a);
    return l;
}

std::vector<Sent> to(const std::vector<Sent>& sent, Address a) {
    std::vector<Sent> out;
    for (const auto& s : sent)
        if (s.to == a) out.push_back(s);
    return out;
}

// True when the 4 bytes of `ip` (big-endian, as on the wire) occur in `bytes`.
bool mentions(const std::vector<std::uint8_t>& bytes, std::uint32_t ip) {
    const std::array<std::uint8_t, 4> needle{
        static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
        static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)};
    return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

}  // namespace

// ---- the server ---------------------------------------------------------------------------------

TEST_CASE("a request without consent gets exactly the unknown-name answer, the asked side is told",
          "[unit][consent]") {
    Harness h;
    const Address bob_lan{0x0A000009u, 6000};  // 10.0.0.9
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    h.registered(kBob, kBobRun, "bob", lan({bob_lan}), kMutual);

    const auto unknown = h.send(kAlice, IntroduceRequest{kAliceRun, "eve"});  // nobody: 3 bytes too
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});

    REQUIRE(unknown.size() == 1);
    const auto to_alice = to(sent, kAlice);
    REQUIRE(to_alice.size() == 1);
    CHECK(to_alice[0].bytes.size() == unknown[0].bytes.size());
    CHECK(to_alice[0].type() == unknown[0].type());
    CHECK(to_alice[0].plain.size() == unknown[0].plain.size());
    CHECK(to_alice[0].plain[0] == unknown[0].plain[0]);  // the message type
    CHECK(to_alice[0].as<PeerUnknown>().peer == "bob");
    CHECK_FALSE(mentions(to_alice[0].plain, kBob.ip));
    CHECK_FALSE(mentions(to_alice[0].plain, bob_lan.ip));

    const auto to_bob = to(sent, kBob);
    REQUIRE(to_bob.size() == 1);
    CHECK(to_bob[0].as<IntroductionAsked>().peer == "alice");
    CHECK(h.server.counters().introduced == 0);
    CHECK(h.server.counters().pending_introductions == 0);
    CHECK(h.server.counters().pending_requests == 1);
    CHECK(h.server.counters().introductions_asked == 1);
}

TEST_CASE("the asked side is told again at most every 5 s, a request lives 10 s after its last ask",
          "[unit][consent]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    h.registered(kBob, kBobRun, "bob", {}, kMutual);
    CHECK(to(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}), kBob).size() == 1);
    for (int i = 1; i <= 4; ++i) {  // asked again every second: 1..4 s, nothing to Bob
        h.advance(milliseconds(1000));
        CHECK(to(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}), kBob).empty());
    }
    h.advance(milliseconds(1000));  // 5 s after the first notice
    CHECK(to(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}), kBob).size() == 1);

    // Alice stops asking: 9.9 s later Bob's request still finds hers, 10 s later it does not.
    SECTION("within 10 s") {
        h.advance(milliseconds(9900));
        const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
        CHECK(sent.size() == 2);
        CHECK(to(sent, kBob).at(0).as<Introduction>().peer_public == kAlice);
    }
    SECTION("after 10 s") {
        h.advance(milliseconds(10000));
        h.server.tick(h.now);
        CHECK(h.server.counters().pending_requests == 0);  // swept
        const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
        CHECK(to(sent, kBob).at(0).as<PeerUnknown>().peer == "alice");
        CHECK(to(sent, kAlice).at(0).as<IntroductionAsked>().peer == "bob");
        CHECK(h.server.counters().introduced == 0);
    }
}

TEST_CASE("mutual: the second request introduces both, with the same token, the requests are done",
          "[unit][consent]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    h.registered(kBob, kBobRun, "bob", {}, kMutual);
    h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(sent.size() == 2);
    const auto to_bob = to(sent, kBob).at(0).as<Introduction>();
    const auto to_alice = to(sent, kAlice).at(0).as<Introduction>();
    CHECK(to_bob.peer_public == kAlice);
    CHECK(to_alice.peer_public == kBob);
    CHECK(to_bob.token == to_alice.token);
    CHECK(h.server.counters().pending_requests == 0);
    // Alice's reminder gets the same introduction (consent holds for the introduction's ttl).
    const auto again = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    CHECK(to(again, kAlice).at(0).as<Introduction>().token == to_alice.token);
}

TEST_CASE("an open host is introduced to whoever asks, at once", "[unit][consent]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    h.registered(kBob, kBobRun, "bob", {}, RegisterFlags::open);
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    CHECK(to(sent, kAlice).at(0).as<Introduction>().peer_public == kBob);
    CHECK(to(sent, kBob).at(0).as<Introduction>().peer_public == kAlice);
    CHECK(h.server.counters().pending_requests == 0);
}

TEST_CASE("a name that leaves takes its requests along: its next holder inherits no consent",
          "[unit][consent]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    h.registered(kBob, kBobRun, "bob", {}, kMutual);
    h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});  // alice wants bob
    h.send(kAlice, Unregister{kAliceRun});
    CHECK(h.server.counters().pending_requests == 0);
    h.registered(kCarol, kCarolRun, "alice", {}, kMutual);  // someone else takes "alice"
    const auto sent = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    CHECK(to(sent, kBob).at(0).as<PeerUnknown>().peer == "alice");
    CHECK(to(sent, kCarol).at(0).as<IntroductionAsked>().peer == "bob");
}

TEST_CASE(
    "requests waiting for consent are capped per source IP, per name and in all, before "
    "anything is stored",
    "[unit][consent]") {
    Config c;
    c.requests = {4, 3, 100};  // per IP, per name, total
    c.limits.rate = c.limits.burst = c.limits.answer_rate = c.limits.answer_burst = 1e6;
    Harness h(c);
    // Eight players who consent to nobody, each at an IP of its own.
    std::vector<std::string> targets;
    for (std::uint32_t i = 0; i < 8; ++i) {
        targets.push_back("t" + std::to_string(i));
        h.registered(Address{0xC6336500u + i, 7000}, 100 + i, targets.back(), {}, kMutual);
    }
    // Mallory: one IP (203.0.113.66), two names on two ports.
    const Address m1{0xCB007142u, 1001};
    const Address m2{0xCB007142u, 1002};
    h.registered(m1, 201, "m1", {}, kMutual);
    h.registered(m2, 202, "m2", {}, kMutual);

    const auto unknown = h.send(m1, IntroduceRequest{201, "t9"});  // nobody: the reference answer
    std::size_t notices = 0;
    const auto ask = [&](Address from, std::uint64_t run, const std::string& t) {
        const auto sent = h.send(from, IntroduceRequest{run, t});
        notices += sent.size() - to(sent, from).size();
        const auto mine = to(sent, from);
        REQUIRE(mine.size() == 1);
        CHECK(mine[0].bytes.size() == unknown.at(0).bytes.size());  // capped or not: the same
        CHECK(mine[0].as<PeerUnknown>().peer == t);
    };
    for (std::size_t i = 0; i < 5; ++i) ask(m1, 201, targets[i]);  // the name's cap: 3
    CHECK(h.server.counters().requests_stored == 3);
    CHECK(h.server.counters().requests_name_capped == 2);
    for (std::size_t i = 0; i < 5; ++i) ask(m2, 202, targets[i]);  // the IP's cap: 4 in all
    CHECK(h.server.counters().requests_stored == 4);
    CHECK(h.server.counters().requests_ip_capped == 4);
    CHECK(h.server.counters().pending_requests == 4);
    CHECK(notices == 4);  // only stored requests are told

    SECTION("the total") {
        Config small = c;
        small.requests = {100, 100, 2};
        Harness g(small);
        g.registered(kAlice, kAliceRun, "alice", {}, kMutual);
        g.registered(kBob, kBobRun, "bob", {}, kMutual);
        g.registered(kCarol, kCarolRun, "carol", {}, kMutual);
        g.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
        g.send(kAlice, IntroduceRequest{kAliceRun, "carol"});
        g.send(kBob, IntroduceRequest{kBobRun, "carol"});
        CHECK(g.server.counters().requests_full == 1);
        CHECK(g.server.counters().pending_requests == 2);
    }
}

TEST_CASE("introductions made by one source IP are capped before they are stored",
          "[unit][consent]") {
    Config c;
    c.max_introductions_per_ip = 2;
    c.limits.rate = c.limits.burst = c.limits.answer_rate = c.limits.answer_burst = 1e6;
    Harness h(c);
    for (std::uint32_t i = 0; i < 4; ++i)
        h.registered(Address{0xC6336500u + i, 7000}, 100 + i, "h" + std::to_string(i));  // open
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "h0"}).size() == 2);
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "h1"}).size() == 2);
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "h2"}).empty());
    CHECK(h.server.counters().introductions_ip_capped == 1);
    CHECK(h.server.counters().pending_introductions == 2);
    // Another IP is not held back.
    h.registered(kBob, kBobRun, "bob", {}, kMutual);
    CHECK(h.send(kBob, IntroduceRequest{kBobRun, "h2"}).size() == 2);
}

TEST_CASE("only LAN candidates in LAN ranges are passed on, the others are dropped and counted",
          "[unit][consent]") {
    Harness h;
    const Address ten{0x0A010203u, 6000};     // 10.1.2.3
    const Address home{0xC0A80105u, 6000};    // 192.168.1.5
    const Address victim{0xCB007132u, 6000};  // 203.0.113.50: someone on the internet
    const Address dns{0x08080808u, 53};       // 8.8.8.8
    h.registered(kBob, kBobRun, "bob", lan({victim, ten, dns, home}));
    h.registered(kAlice, kAliceRun, "alice", {}, kMutual);
    const auto intro =
        to(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}), kAlice).at(0).as<Introduction>();
    CHECK(intro.peer_lan == lan({ten, home}));
    CHECK(h.server.counters().lan_dropped == 2);
}

TEST_CASE("lan_candidate admits exactly the private, shared, link-local and loopback ranges",
          "[unit][consent]") {
    const auto ok = [](std::uint32_t ip) { return netcore::lan_candidate(Address{ip, 1}); };
    CHECK(ok(0x0A000000u));  // 10.0.0.0
    CHECK(ok(0x0AFFFFFFu));  // 10.255.255.255
    CHECK_FALSE(ok(0x09FFFFFFu));
    CHECK_FALSE(ok(0x0B000000u));
    CHECK(ok(0xAC100000u));  // 172.16.0.0
    CHECK(ok(0xAC1FFFFFu));  // 172.31.255.255
    CHECK_FALSE(ok(0xAC0FFFFFu));
    CHECK_FALSE(ok(0xAC200000u));
    CHECK(ok(0xC0A80000u));  // 192.168.0.0
    CHECK(ok(0xC0A8FFFFu));
    CHECK_FALSE(ok(0xC0A90000u));
    CHECK(ok(0x64400000u));  // 100.64.0.0
    CHECK(ok(0x647FFFFFu));  // 100.127.255.255
    CHECK_FALSE(ok(0x643FFFFFu));
    CHECK_FALSE(ok(0x64800000u));
    CHECK(ok(0xA9FE0000u));  // 169.254.0.0
    CHECK_FALSE(ok(0xA9FF0000u));
    CHECK(ok(0x7F000001u));  // 127.0.0.1
    CHECK_FALSE(ok(0x80000000u));
    CHECK_FALSE(ok(0xCB007107u));  // 203.0.113.7
    CHECK_FALSE(ok(0u));
}

// ---- sessions over loopback --------------------------------------------------------------------

namespace {

using loopback::connected;
using loopback::Lab;
using loopback::Node;
using netcore::EventType;

netcore::Config mutual(const Lab& lab, const std::string& name) {
    auto c = lab.config(name);
    c.consent = netcore::Consent::mutual;
    return c;
}

std::size_t index_of(const Node& n, EventType type) {
    for (std::size_t i = 0; i < n.events.size(); ++i)
        if (n.events[i].type == type) return i;
    return n.events.size();
}

std::size_t requests_from(const Node& n, const std::string& asker) {
    return static_cast<std::size_t>(std::count_if(n.events.begin(), n.events.end(), [&](auto& e) {
        return e.type == EventType::introduction_requested && e.peer == asker;
    }));
}

}  // namespace

TEST_CASE("mutual: the first to ask waits and the other hears of it, once both asked they connect",
          "[loopback][consent]") {
    Lab lab;
    auto& alice = lab.add(mutual(lab, "alice"));
    auto& bob = lab.add(mutual(lab, "bob"));
    REQUIRE(lab.run_until([&] {
        return alice.count(EventType::registered) == 1 && bob.count(EventType::registered) == 1;
    }));
    REQUIRE(alice.session->connect("bob", netcore::Duration(5000)) == netcore::Error::none);
    REQUIRE(lab.run_until([&] { return requests_from(bob, "alice") == 1; }));
    CHECK(alice.count(EventType::waiting_for_peer) == 1);
    CHECK(alice.count(EventType::introduced) == 0);
    REQUIRE(bob.session->connect("alice", netcore::Duration(5000)) == netcore::Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
}

TEST_CASE("an open host is introduced to whoever asks, and hears of nobody first",
          "[loopback][consent]") {
    Lab lab;
    auto& alice = lab.add(mutual(lab, "alice"));
    auto& host = lab.add(lab.config("host"));  // Consent::open
    loopback::connect_pair(lab, alice, host);
    CHECK(host.count(EventType::introduction_requested) == 0);
}

TEST_CASE(
    "list: a listed player is accepted by the library, another learns nothing and ends with "
    "peer_not_online, reported to the host once",
    "[loopback][consent]") {
    Config server_config;
    server_config.request_notify_interval = milliseconds(200);  // re-sent often: the client dedupes
    Lab lab(server_config);
    auto host_config = lab.config("host");
    host_config.consent = netcore::Consent::list;
    host_config.accept_from = {"alice"};
    auto& host = lab.add(host_config);
    auto& carol = lab.add(mutual(lab, "carol"));
    auto& alice = lab.add(mutual(lab, "alice"));
    REQUIRE(lab.run_until([&] { return host.count(EventType::registered) == 1; }));

    REQUIRE(carol.session->connect("host", netcore::Duration(1500)) == netcore::Error::none);
    REQUIRE(lab.run_until([&] { return carol.count(EventType::error) == 1; }));
    CHECK(carol.last(EventType::error)->error == netcore::Error::peer_not_online);
    CHECK(carol.count(EventType::introduced) == 0);
    CHECK(host.count(EventType::introduced) == 0);
    CHECK(requests_from(host, "carol") == 1);
    CHECK(lab.server().counters().introductions_asked >= 3);  // re-sent, reported once

    REQUIRE(alice.session->connect("host", netcore::Duration(5000)) == netcore::Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(host); }));
    CHECK(requests_from(host, "alice") == 1);
    CHECK(index_of(host, EventType::introduction_requested) <
          index_of(host, EventType::introduced));
    CHECK(host.session->peer_name() == "alice");
}

// ---- a flood from 20 source IPs ----------------------------------------------------------------

namespace {

// A client that speaks the signal protocol from its own socket (127.0.0.N): registers a name,
// then keeps asking for its targets, as fast as the server's rate limit lets it.
class Flooder {
  public:
    Flooder(std::uint32_t ip, Address server, const netcore::PublicKey& key, std::string name,
            std::vector<std::string> targets)
        : server_(server), channel_(key), name_(std::move(name)), targets_(std::move(targets)) {
        socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
        REQUIRE(socket_ != ENET_SOCKET_NULL);
        ENetAddress any{};
        any.host = ENET_HOST_TO_NET_32(ip);
        REQUIRE(enet_socket_bind(socket_, &any) == 0);
        REQUIRE(enet_socket_set_option(socket_, ENET_SOCKOPT_NONBLOCK, 1) == 0);
        instance_ = 0xF100D000u + ip;
    }
    ~Flooder() { enet_socket_destroy(socket_); }
    Flooder(const Flooder&) = delete;
    Flooder& operator=(const Flooder&) = delete;

    void step(netcore::TimePoint now) {
        std::array<std::uint8_t, 2048> buf{};
        for (;;) {
            ENetBuffer b{buf.data(), buf.size()};
            ENetAddress from{};
            const int n = enet_socket_receive(socket_, &from, &b, 1);
            if (n <= 0) break;
            Envelope e;
            if (decode_envelope({buf.data(), static_cast<std::size_t>(n)}, e) != DecodeError::ok)
                continue;
            if (e.type == EnvelopeType::challenge) {
                channel_.on_challenge(e, true);
                send(RegisterRequest{instance_, name_, {}});
            } else if (e.type == EnvelopeType::server_sealed) {
                std::array<std::uint8_t, kMaxDatagramSize> scratch{};
                Message m;
                if (channel_.open(e, scratch, m) == SignalChannel::OpenError::none &&
                    std::holds_alternative<RegisterAck>(m))
                    registered_ = true;
            }
        }
        if (now < next_) return;
        next_ = now + milliseconds(50);
        if (!channel_.keyed()) {
            std::array<std::uint8_t, kHelloSize> hello{};
            REQUIRE(channel_.hello(hello) == kHelloSize);
            send_raw(hello);
        } else if (!registered_) {
            send(RegisterRequest{instance_, name_, {}});
        } else {
            for (const auto& t : targets_) send(IntroduceRequest{instance_, t});
        }
    }
    [[nodiscard]] bool registered() const { return registered_; }

  private:
    void send(const Message& m) {
        std::array<std::uint8_t, kMaxDatagramSize> buf{};
        const auto n = channel_.seal(m, buf);
        if (n > 0) send_raw({buf.data(), n});
    }
    void send_raw(std::span<const std::uint8_t> bytes) {
        ENetAddress dest{};
        dest.host = ENET_HOST_TO_NET_32(server_.ip);
        dest.port = server_.port;
        ENetBuffer b{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};
        enet_socket_send(socket_, &dest, &b, 1);
    }

    Address server_;
    SignalChannel channel_;
    std::string name_;
    std::vector<std::string> targets_;
    std::uint64_t instance_ = 0;
    ENetSocket socket_ = ENET_SOCKET_NULL;
    bool registered_ = false;
    netcore::TimePoint next_{};
};

// How long alice and bob (mutual) take from both asking to both connected, in `lab`.
milliseconds honest_pair_time(Lab& lab, Node& alice, Node& bob) {
    const auto start = netcore::Clock::now();
    REQUIRE(alice.session->connect("bob", netcore::Duration(10000)) == netcore::Error::none);
    REQUIRE(bob.session->connect("alice", netcore::Duration(10000)) == netcore::Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, milliseconds(10000)));
    return std::chrono::duration_cast<milliseconds>(netcore::Clock::now() - start);
}

}  // namespace

TEST_CASE(
    "a flood of requests from 20 source IPs leaves an honest pair introduced in its normal "
    "time",
    "[loopback][consent]") {
    REQUIRE(enet_initialize() == 0);
    // A small table, so that without the per-IP cap 20 IPs would fill it: 60 names asking for 4
    // players each who never consent is 240 requests for 100 places. With it: 80.
    Config server_config;
    server_config.requests = {4, 4, 100};

    // The time without a flood, on a server of its own.
    milliseconds quiet{};
    {
        Lab lab(server_config);
        auto& alice = lab.add(mutual(lab, "alice"));
        auto& bob = lab.add(mutual(lab, "bob"));
        REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
        REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
        quiet = honest_pair_time(lab, alice, bob);
    }

    Lab lab(server_config);
    auto& alice = lab.add(mutual(lab, "alice"));
    auto& bob = lab.add(mutual(lab, "bob"));
    // 20 IPs (127.0.0.2 .. 127.0.0.21), 3 names each; each name asks for the 3 names of the next
    // IP (who never ask back), alice and bob.
    constexpr std::uint32_t kIps = 20;
    constexpr std::uint32_t kNamesPerIp = 3;
    const auto name_of = [](std::uint32_t ip, std::uint32_t k) {
        return "m" + std::to_string(ip) + "_" + std::to_string(k);
    };
    std::vector<std::unique_ptr<Flooder>> flood;
    for (std::uint32_t ip = 0; ip < kIps; ++ip) {
        for (std::uint32_t k = 0; k < kNamesPerIp; ++k) {
            std::vector<std::string> targets;
            for (std::uint32_t j = 0; j < kNamesPerIp; ++j)
                targets.push_back(name_of((ip + 1) % kIps, j));
            targets.emplace_back("alice");
            targets.emplace_back("bob");
            flood.push_back(std::make_unique<Flooder>(0x7F000002u + ip, lab.server_address(),
                                                      lab.server().public_key(), name_of(ip, k),
                                                      std::move(targets)));
        }
    }
    lab.each_step.emplace_back([&] {
        const auto now = netcore::Clock::now();
        for (auto& f : flood) f->step(now);
    });
    REQUIRE(lab.run_until([&] {
        return std::all_of(flood.begin(), flood.end(), [](auto& f) { return f->registered(); }) &&
               alice.count(EventType::registered) == 1 && bob.count(EventType::registered) == 1;
    }));
    // Until the flood holds all it may: every IP at its caps.
    REQUIRE(lab.run_until(
        [&] {
            const auto c = lab.server().counters();
            return c.pending_requests >= kIps * 4 / 2 && c.requests_ip_capped > 0;
        },
        milliseconds(10000)));

    const auto flooded = honest_pair_time(lab, alice, bob);
    const auto c = lab.server().counters();
    INFO("without the flood " << quiet.count() << " ms, with it " << flooded.count() << " ms");
    CHECK(c.requests_full == 0);
    CHECK(c.pending_requests <= kIps * 4 + 2);
    // Generous: loopback timings jitter with the machine's load, not with the flood.
    CHECK(flooded <= 3 * quiet + milliseconds(1000));
}
