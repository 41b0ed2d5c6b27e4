// One connection's state machine without a socket: two Connections (alice asks, the initiator;
// bob, the responder) whose probes cross a simulated wire with a direct path and a relayed one
// that can each be open or closed, time stepped by hand. ENet is stood for by a peer struct the
// test fills in, as ENet would on a connect.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <vector>

#include "connection.hpp"
#include "datagram_path.hpp"
#include "enet_host.hpp"

using namespace netcore;
using namespace netcore::detail;
using namespace netcore::protocol;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<std::uint8_t>;

const Address kServer{0xCB00710Au, 7777};
const Address kAlicePublic{0xC6336401u, 5000};
const Address kBobPublic{0xCB007116u, 40000};
const Address kAliceRelayed{0x0A000001u, 50001};  // alice's allocation, as bob sends to it
const Address kBobRelayed{0x0A000002u, 50002};
const Address kBobRebound{0xCB007116u, 41234};  // bob's public address after his NAT rebound
const Address kAttacker{0x05060708u, 6666};
constexpr std::uint64_t kToken = 0x1122334455667788ull;

// Stands for the ENet peer ENet would make: only what the connection reads and ENet's own
// peer calls touch.
struct FakeEnetPeer {
    ENetHost host{};  // enet_peer_reset reads its MTU: the connection resets its peer at the end
    ENetPeer peer{};
    explicit FakeEnetPeer(Address at) {
        host.mtu = ENET_HOST_DEFAULT_MTU;
        peer.host = &host;
        enet_list_clear(&peer.acknowledgements);
        enet_list_clear(&peer.sentReliableCommands);
        enet_list_clear(&peer.sentUnreliableCommands);
        enet_list_clear(&peer.outgoingCommands);
        enet_list_clear(&peer.dispatchedCommands);
        peer.address = to_enet(at);
    }
};

struct Wire final : RawOutbox {
    std::vector<std::pair<Address, Bytes>> sent;
    std::vector<Address> destinations;  // every datagram's, delivered or not
    std::vector<std::pair<Address, Bytes>> history;
    void send_raw(Address to, std::span<const std::uint8_t> bytes) override {
        sent.emplace_back(to, Bytes(bytes.begin(), bytes.end()));
        destinations.push_back(to);
        history.emplace_back(to, Bytes(bytes.begin(), bytes.end()));
    }
    [[nodiscard]] std::size_t count_to(Address a) const {
        return static_cast<std::size_t>(std::count(destinations.begin(), destinations.end(), a));
    }
};

// One side: its connection, the datagram path in front of it, and its own addresses.
struct Side final : DatagramPath::Receiver {
    Side(PeerId id, Address public_address, Address relayed_address)
        : conn(config, id, relay, wire, events), self(public_address), relayed(relayed_address) {}

    Config config;
    Relay relay;  // never started: the connection only reads whether it is
    Wire wire;
    netcore::detail::EventQueue events;
    Connection conn;
    DatagramPath path{kServer, true};
    Address self;
    Address relayed;
    TimePoint now{};

    void on_server(const Envelope&, Address) override {}
    void on_probe(const Message& message, Address from) override {
        if (!conn.on_probe(message, from, now)) ++refused;
    }
    std::size_t refused = 0;  // probes and acknowledgements the connection did not take
    void on_server_version(std::uint8_t) override {}

    [[nodiscard]] std::size_t count(EventType type) const {
        std::size_t n = 0;
        for (const auto& e : events) n += e.type == type;
        return n;
    }
    [[nodiscard]] const Event* last(EventType type) const {
        for (auto it = events.rbegin(); it != events.rend(); ++it)
            if (it->type == type) return &*it;
        return nullptr;
    }
};

struct Pair {
    // ENet's peers, as ENet would make them: alice's own (connected on the introduction), bob's
    // incoming one.
    FakeEnetPeer alice_enet{kBobPublic};
    FakeEnetPeer bob_enet{kAlicePublic};
    /// Where alice's ENet handshake goes: the path that answered first.
    [[nodiscard]] Address handshake() const { return from_enet(alice_enet.peer.address); }
    crypto::KeyPair alice_keys;
    crypto::KeyPair bob_keys;
    Side alice{1, kAlicePublic, kAliceRelayed};
    Side bob{7, kBobPublic, kBobRelayed};
    TimePoint now = TimePoint{} + 1h;
    TimePoint start = now;
    bool direct_open = true;
    bool relay_open = false;

    Pair() {
        REQUIRE(crypto::init());
        alice_keys = crypto::generate_key_pair();
        bob_keys = crypto::generate_key_pair();
    }

    void begin(bool with_relays) {
        const Introduction to_alice{kToken, Role::initiator,    "bob", kBobPublic, {},
                                    {},     bob_keys.public_key};
        const Introduction to_bob{kToken, Role::responder,      "alice", kAlicePublic, {},
                                  {},     alice_keys.public_key};
        alice.now = bob.now = now;
        REQUIRE(alice.conn.begin(alice_keys, "alice", to_alice, nullptr, true, 0, now));
        REQUIRE(bob.conn.begin(bob_keys, "bob", to_bob, nullptr, true, 0, now));
        // The initiator connects ENet on the introduction (PROTOCOL.md §6 step 4), to the
        // peer's public address; its handshake moves to the path that answers first. The
        // session then updates it in the same frame: the first probes go out.
        REQUIRE(alice.conn.take_enet_connect() == kBobPublic);
        alice_enet.peer.state = ENET_PEER_STATE_CONNECTING;
        alice.conn.attach(&alice_enet.peer);
        alice.conn.update(now, 0);
        if (with_relays) {
            CHECK(alice.conn.on_peer_relay(PeerRelay{kToken, kBobRelayed, kBobPublic}) ==
                  kBobPublic.ip);
            CHECK(bob.conn.on_peer_relay(PeerRelay{kToken, kAliceRelayed, kAlicePublic}) ==
                  kAlicePublic.ip);
        }
    }

    // What `from` sent, delivered to `to` where the wire lets it through: straight to the
    // public address, or to the relayed address (arriving from the sender's relay, as the
    // session hands over what its allocation received).
    static bool deliver(Side& from, Side& to, bool direct_open, bool relay_open) {
        auto sent = std::move(from.wire.sent);
        from.wire.sent.clear();
        for (auto& [address, bytes] : sent) {
            Address source;
            if (address == to.self && direct_open)
                source = from.self;
            else if (address == to.relayed && relay_open)
                source = from.relayed;
            else
                continue;
            Incoming in{bytes, source};
            CHECK(to.path.route(in, to.conn.link(), to));
        }
        return !sent.empty();
    }

    // ENet's own traffic between connected sides (its pings, the game's data): `from` sends
    // to the path it uses; where the wire lets it through, `to` hears it from there.
    void enet_traffic(Side& from, Side& to) const {
        if (from.conn.state() != State::connected || to.conn.state() != State::connected) return;
        const Address dest = from.conn.peer_address();
        if (dest == to.self && direct_open)
            to.conn.heard_from(from.self, now);
        else if (dest == to.relayed && relay_open)
            to.conn.heard_from(from.relayed, now);
    }

    void step(Duration by = 10ms) {
        now += by;
        alice.now = bob.now = now;
        if (!alice.conn.ended()) alice.conn.update(now, 0);
        if (!bob.conn.ended()) bob.conn.update(now, 0);
        for (int round = 0; round < 8; ++round) {
            const bool a = deliver(alice, bob, direct_open, relay_open);
            const bool b = deliver(bob, alice, direct_open, relay_open);
            if (!a && !b) break;
        }
        enet_traffic(alice, bob);
        enet_traffic(bob, alice);
    }

    // Both sides connected, as ENet would report it: alice's own peer, bob's incoming one.
    void connect_both() {
        REQUIRE(run_until([&] {
            return alice.conn.state() == State::connecting && bob.conn.state() == State::connecting;
        }));
        const Address to = handshake();
        REQUIRE(alice.conn.on_enet_connect(&alice_enet.peer, 0, now));
        bob_enet.peer.address = to_enet(to == kBobPublic ? kAlicePublic : kAliceRelayed);
        REQUIRE(bob.conn.on_enet_connect(&bob_enet.peer, connect_data(kToken), now));
    }

    // Alice alone connected, as ENet would report it: she connects on the first path that
    // answers, which must be `expected`, through her own peer (alice_enet).
    void connect_alice(Address expected) {
        REQUIRE(run_until([&] { return alice.conn.state() == State::connecting; }));
        REQUIRE(handshake() == expected);
        REQUIRE(alice.conn.on_enet_connect(&alice_enet.peer, 0, now));
    }

    template <typename Done>
    bool run_until(Done done, Duration bound = 20s) {
        const TimePoint end = now + bound;
        while (now < end) {
            if (done()) return true;
            step();
        }
        return done();
    }
};

}  // namespace

TEST_CASE("a connection goes from punching to connecting on the first acknowledged probe",
          "[connection]") {
    Pair p;
    p.begin(false);
    CHECK(p.alice.conn.state() == State::punching);
    CHECK(p.alice.count(EventType::introduced) == 1);
    CHECK(p.alice.last(EventType::introduced)->connection == 1);
    CHECK(p.alice.last(EventType::introduced)->peer == "bob");
    CHECK_FALSE(p.alice.wire.sent.empty());  // the first probes go out at once
    CHECK(p.alice.conn.wants_reminder());    // it asked, and has not heard bob yet

    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    CHECK(p.now - p.start < 200ms);  // a round trip on the simulated wire, not a timer
    CHECK_FALSE(p.alice.conn.wants_reminder());
    // Only the initiator connects ENet, to the path that answered.
    CHECK(p.handshake() == kBobPublic);
    CHECK_FALSE(p.alice.conn.take_enet_connect());  // asked once, on the introduction
    REQUIRE(p.run_until([&] { return p.bob.conn.state() == State::connecting; }));
    CHECK_FALSE(p.bob.conn.take_enet_connect());

    // ENet connects: the connection reports the path, with its id and the peer's name.
    FakeEnetPeer enet(kBobPublic);
    p.alice.conn.attach(&enet.peer);
    REQUIRE(p.alice.conn.on_enet_connect(&enet.peer, 0, p.now));
    CHECK(p.alice.conn.state() == State::connected);
    const Event* e = p.alice.last(EventType::connected);
    REQUIRE(e != nullptr);
    CHECK(e->connection == 1);
    CHECK(e->peer == "bob");
    CHECK(e->path == Path::direct);
    CHECK(e->address == kBobPublic);
    CHECK(p.alice.conn.needs_relay(p.now));  // on standby (docs/PATHS.md)

    // The responder takes an incoming ENet connection only with the token's bits, from the peer.
    FakeEnetPeer stranger(Address{0x01020304u, 999});
    CHECK_FALSE(p.bob.conn.on_enet_connect(&stranger.peer, connect_data(kToken), p.now));
    FakeEnetPeer wrong_token(kAlicePublic);
    CHECK_FALSE(p.bob.conn.on_enet_connect(&wrong_token.peer, connect_data(kToken) ^ 1, p.now));
    FakeEnetPeer incoming(kAlicePublic);
    CHECK(p.bob.conn.on_enet_connect(&incoming.peer, connect_data(kToken), p.now));
    CHECK(p.bob.last(EventType::connected)->connection == 7);
}

TEST_CASE("a connection holds a relay that got through for relay_delay, then takes it",
          "[connection]") {
    Pair p;
    p.alice.config.relay_delay = p.bob.config.relay_delay = 500ms;
    p.direct_open = false;
    p.relay_open = true;
    p.begin(true);
    // The relay answers within a round trip, but a direct path may still open: it waits.
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    CHECK(p.now - p.start >= p.alice.config.relay_delay);
    CHECK(p.now - p.start < p.alice.config.relay_delay + 100ms);
    CHECK(p.handshake() == kBobRelayed);
    CHECK(p.alice.conn.needs_relay(p.now));
}

TEST_CASE("a direct path that opens before relay_delay wins over the relay", "[connection]") {
    Pair p;
    p.alice.config.relay_delay = p.bob.config.relay_delay = 500ms;
    p.relay_open = true;
    p.begin(true);
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    CHECK(p.now - p.start < p.alice.config.relay_delay);
    CHECK(p.handshake() == kBobPublic);
}

TEST_CASE("a relayed connection moves to a direct path that opens later", "[connection]") {
    Pair p;
    p.direct_open = false;
    p.relay_open = true;
    p.begin(true);
    p.connect_alice(kBobRelayed);
    CHECK(p.alice.conn.path() == Path::relay);
    CHECK(p.alice.conn.needs_relay(p.now));
    CHECK(p.alice.conn.renews_relay());

    p.direct_open = true;  // the NATs let the probes through now
    REQUIRE(p.run_until([&] { return p.alice.count(EventType::path_changed) == 1; }));
    // The upgrade probes go every upgrade_interval, not at the punch's pace.
    CHECK(p.now - p.start < 5s);
    const Event* e = p.alice.last(EventType::path_changed);
    CHECK(e->connection == 1);
    CHECK(e->path == Path::direct);
    CHECK(e->address == kBobPublic);
    CHECK(p.alice.conn.path() == Path::direct);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobPublic);  // ENet sends there from now on
    // The relay stays, on standby for when the direct path breaks (docs/PATHS.md).
    CHECK(p.alice.conn.needs_relay(p.now + 60s));
    CHECK(p.alice.conn.renews_relay());
    CHECK(p.alice.conn.info(p.now).path_changes == 1);
}

TEST_CASE("a pair starts on the relay when it answers first, without waiting for direct",
          "[connection][paths]") {
    Pair p;
    p.direct_open = false;
    p.relay_open = true;
    p.begin(true);
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    // Within a few simulated round trips (10 ms steps), not after a delay held for direct.
    CHECK(p.now - p.start <= 50ms);
    CHECK(p.handshake() == kBobRelayed);
}

TEST_CASE(
    "a direct path acknowledged while punching is moved to once connected, also when ENet's "
    "handshake completed over the relay",
    "[connection][paths]") {
    // The initiator's ENet peer follows the first authenticated VERIFY_CONNECT: under loss it
    // may come through the relay although the direct path was acknowledged first. That
    // candidate, acknowledged once, never opens again: unless remembered, the pair would stay on
    // the relay for good (the loss soak found it, 2 pairs in 100).
    Pair p;
    p.relay_open = true;
    p.begin(true);
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    REQUIRE(p.handshake() == kBobPublic);  // direct answered first
    REQUIRE(p.alice.conn.puncher().candidate(kBobPublic) != nullptr);
    REQUIRE(p.alice.conn.puncher().candidate(kBobPublic)->acked);
    // Bob's VERIFY_CONNECT came through his relay first: ENet's peer now sends there.
    p.alice_enet.peer.address = to_enet(kBobRelayed);
    REQUIRE(p.alice.conn.on_enet_connect(&p.alice_enet.peer, 0, p.now));
    const Event* connected = p.alice.last(EventType::connected);
    REQUIRE(connected != nullptr);
    CHECK(connected->path == Path::relay);
    // At once, in the same call: the direct path, known to work, carries ENet from now on.
    CHECK(p.alice.conn.path() == Path::direct);
    CHECK(p.alice.count(EventType::path_changed) == 1);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobPublic);
    // And it stays there: nothing moves it back while both paths work.
    REQUIRE_FALSE(p.run_until([&] { return p.alice.count(EventType::path_changed) > 1; }, 10s));
    CHECK(p.alice.conn.path() == Path::direct);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobPublic);
}

TEST_CASE("a connected pair whose direct path breaks moves to the relay, and back when it returns",
          "[connection][paths]") {
    Pair p;
    p.relay_open = true;
    p.begin(true);
    p.connect_both();
    REQUIRE(p.alice.conn.path() == Path::direct);
    REQUIRE(p.bob.conn.path() == Path::direct);
    // ENet's traffic keeps the path in use: a minute passes without a move, and the relay was
    // probed on standby meanwhile (its acknowledgement came back).
    const auto sent_before = p.alice.conn.puncher().probes_sent();
    REQUIRE_FALSE(p.run_until([&] { return p.alice.count(EventType::path_changed) > 0; }, 60s));
    const auto standby = p.alice.conn.puncher().probes_sent() - sent_before;
    CHECK(standby >= 60 / 5 - 1);  // one relay probe every standby_interval (5 s)
    CHECK(standby <= 60 / 5 + 1);
    REQUIRE(p.alice.conn.puncher().candidate(kBobRelayed) != nullptr);
    CHECK(p.alice.conn.puncher().candidate(kBobRelayed)->acked);

    p.direct_open = false;  // the internet drops everything between them now
    const TimePoint broke = p.now;
    REQUIRE(p.run_until(
        [&] { return p.alice.conn.path() == Path::relay && p.bob.conn.path() == Path::relay; }));
    // Found within the silence that starts it and a round trip on the relay.
    CHECK(p.now - broke >= p.alice.config.path_silence);
    CHECK(p.now - broke < p.alice.config.path_silence + 200ms);
    for (Side* side : {&p.alice, &p.bob}) {
        const Event* e = side->last(EventType::path_changed);
        REQUIRE(e != nullptr);
        CHECK(e->path == Path::relay);
        CHECK_FALSE(side->conn.ended());
        CHECK(side->count(EventType::disconnected) == 0);
    }
    CHECK(p.alice.last(EventType::path_changed)->address == kBobRelayed);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobRelayed);  // ENet sends through it now
    CHECK(from_enet(p.bob_enet.peer.address) == kAliceRelayed);

    p.direct_open = true;
    const TimePoint healed = p.now;
    REQUIRE(p.run_until(
        [&] { return p.alice.conn.path() == Path::direct && p.bob.conn.path() == Path::direct; }));
    CHECK(p.now - healed <= p.alice.config.upgrade_interval + 50ms);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobPublic);
    CHECK(p.alice.conn.info(p.now).path_changes == 2);
    CHECK(p.bob.conn.info(p.now).path_changes == 2);
}

TEST_CASE("a path that stays silent with nothing else to go to keeps probing, then recovers",
          "[connection][paths]") {
    Pair p;
    p.begin(false);  // no relay: nowhere else to go
    p.connect_both();
    p.direct_open = false;
    const auto sent_before = p.alice.conn.puncher().probes_sent();
    REQUIRE_FALSE(p.run_until([&] { return p.alice.count(EventType::path_changed) > 0; }, 8s));
    // Probed at probe_interval first, backing off to once a second: a handful, not 200.
    const auto probes = p.alice.conn.puncher().probes_sent() - sent_before;
    CHECK(probes >= 6);
    CHECK(probes <= 16);
    p.direct_open = true;  // the same path works again: no move, no event
    REQUIRE(p.run_until([&] { return p.alice.conn.info(p.now).path == Path::direct; }, 2s));
    p.run_until([] { return false; }, 3s);
    CHECK(p.alice.count(EventType::path_changed) == 0);
    CHECK(p.alice.conn.state() == State::connected);
}

TEST_CASE("a peer whose NAT rebound is followed to its new address once a probe there answers",
          "[connection][paths]") {
    Pair p;
    p.begin(false);
    p.connect_both();
    REQUIRE(p.alice.conn.peer_address() == kBobPublic);
    p.run_until([] { return false; }, 2s);
    // Bob's NAT forgot its mapping: his datagrams come from a new port, and what is sent to
    // the old one is dropped there.
    p.bob.self = kBobRebound;
    const TimePoint rebound = p.now;
    REQUIRE(p.run_until([&] { return p.alice.conn.peer_address() == kBobRebound; }));
    CHECK(p.now - rebound < 100ms);  // a validation round trip, not a silence
    const Event* e = p.alice.last(EventType::path_changed);
    REQUIRE(e != nullptr);
    CHECK(e->address == kBobRebound);
    CHECK(e->path == Path::direct);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobRebound);
    CHECK(p.bob.count(EventType::path_changed) == 0);  // bob's side did not change
    // Bob's traffic keeps it: no suspicion, no more moves.
    p.run_until([] { return false; }, 5s);
    CHECK(p.alice.count(EventType::path_changed) == 1);
}

TEST_CASE("a peer's datagram re-sent from another address does not move the path",
          "[connection][paths]") {
    Pair p;
    p.begin(false);
    // A probe bob sent while punching, as an on-path attacker would have captured it.
    REQUIRE(p.run_until([&] { return !p.bob.wire.sent.empty(); }));
    const Bytes captured = p.bob.wire.sent.front().second;
    p.connect_both();
    p.run_until([] { return false; }, 2s);
    constexpr int kReplays = 50;
    for (int i = 0; i < kReplays; ++i) {
        Incoming in{captured, kAttacker};
        p.alice.path.route(in, p.alice.conn.link(), p.alice);
        p.step();
    }
    p.run_until([] { return false; }, 3s);
    CHECK(p.alice.count(EventType::path_changed) == 0);
    CHECK(p.alice.conn.peer_address() == kBobPublic);
    CHECK(from_enet(p.alice_enet.peer.address) == kBobPublic);
    // Each replayed probe is answered where it came from, once: nothing more goes there (no
    // validation follows a probe).
    CHECK(p.alice.wire.count_to(kAttacker) <= kReplays);
}

TEST_CASE("ENet data from a new address is validated with a few probes, not followed",
          "[connection][paths]") {
    Pair p;
    p.begin(false);
    p.connect_both();
    p.run_until([] { return false; }, 2s);
    // ENet data that opened under bob's keys arrives from an address bob does not answer at
    // (a malicious peer spoofing a victim's, or an attacker racing bob's datagrams): probed a
    // few times a second at most, never moved to.
    for (int i = 0; i < 300; ++i) {
        p.alice.conn.heard_from(kAttacker, p.now);
        p.step();
    }
    CHECK(p.alice.count(EventType::path_changed) == 0);
    CHECK(p.alice.conn.peer_address() == kBobPublic);
    const std::size_t probes = p.alice.wire.count_to(kAttacker);
    CHECK(probes >= 3);      // it was validated
    CHECK(probes <= 3 * 4);  // 3 s: three probes per second at most
}

TEST_CASE(
    "a relayed connection follows the peer's new relayed address: ENet's peer moves there, a "
    "repeat changes nothing, and a direct connection's ENet peer stays",
    "[connection]") {
    const Address moved{0x0A000002u, 50099};  // bob's allocation, made anew
    Pair p;
    p.direct_open = false;
    p.relay_open = true;
    p.begin(true);
    p.connect_alice(kBobRelayed);
    REQUIRE(p.alice.conn.path() == Path::relay);

    // The same offer again (bob re-sends until he hears alice through it): nothing.
    CHECK(p.alice.conn.on_peer_relay(PeerRelay{kToken, kBobRelayed, kBobPublic}) == 0);
    CHECK(p.alice.count(EventType::path_changed) == 0);
    // Bob's TURN server restarted: his new relayed address replaces the old one.
    CHECK(p.alice.conn.on_peer_relay(PeerRelay{kToken, moved, kBobPublic}) == kBobPublic.ip);
    CHECK(p.alice.conn.peer_relayed() == moved);
    CHECK(from_enet(p.alice_enet.peer.address) == moved);
    CHECK(p.alice.conn.peer_address() == moved);
    CHECK(p.alice.conn.path() == Path::relay);
    CHECK(p.alice.conn.is_peer_address(moved));
    const Event* e = p.alice.last(EventType::path_changed);
    REQUIRE(e != nullptr);
    CHECK(e->path == Path::relay);
    CHECK(e->address == moved);
    CHECK(p.alice.conn.on_peer_relay(PeerRelay{kToken, moved, kBobPublic}) == 0);
    CHECK(p.alice.count(EventType::path_changed) == 1);

    // A direct connection learns the address, and its ENet peer stays where it is.
    Pair q;
    q.begin(true);
    q.connect_alice(kBobPublic);
    CHECK(q.alice.conn.on_peer_relay(PeerRelay{kToken, moved, kBobPublic}) == kBobPublic.ip);
    CHECK(from_enet(q.alice_enet.peer.address) == kBobPublic);
    CHECK(q.alice.count(EventType::path_changed) == 0);
}

TEST_CASE("a punch that nothing answers fails with punch_failed at punch_timeout", "[connection]") {
    Pair p;
    p.direct_open = false;
    p.begin(false);
    REQUIRE(p.run_until([&] { return p.alice.conn.ended(); }, 15s));
    CHECK(p.now - p.start >= p.alice.config.punch_timeout);
    CHECK(p.now - p.start < p.alice.config.punch_timeout + 50ms);
    const Event* e = p.alice.last(EventType::error);
    REQUIRE(e != nullptr);
    CHECK(e->error == Error::punch_failed);
    CHECK(e->connection == 1);
    CHECK(e->peer == "bob");
    CHECK(e->detail.find("no probe got through to bob") != std::string::npos);
    CHECK(p.alice.conn.state() == State::closed);
    CHECK(p.alice.count(EventType::error) == 1);
}

TEST_CASE("a connection whose ENet handshake never completes fails at connect_timeout",
          "[connection]") {
    Pair p;
    p.begin(false);
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    const TimePoint connecting_at = p.now;
    REQUIRE(p.alice.conn.enet_peer() != nullptr);  // ENet's CONNECT is never answered
    REQUIRE(p.run_until([&] { return p.alice.conn.ended(); }));
    CHECK(p.now - connecting_at >= p.alice.config.connect_timeout);
    CHECK(p.now - connecting_at < p.alice.config.connect_timeout + 50ms);
    const Event* e = p.alice.last(EventType::error);
    REQUIRE(e != nullptr);
    CHECK(e->error == Error::connect_failed);
    CHECK(e->connection == 1);
}

TEST_CASE("a connection's goodbye and the peer's are told apart from a timeout", "[connection]") {
    Pair p;
    p.begin(false);
    p.connect_alice(kBobPublic);
    const PeerInfo info = p.alice.conn.info(p.now);
    CHECK(info.id == 1);
    CHECK(info.name == "bob");
    CHECK(info.state == State::connected);
    CHECK(info.path == Path::direct);
    CHECK(info.address == kBobPublic);

    SECTION("the peer left") {
        p.alice.conn.on_enet_disconnect(kGoodbye);
        CHECK(p.alice.last(EventType::disconnected)->error == Error::peer_disconnected);
    }
    SECTION("the path broke") {
        p.alice.conn.on_enet_disconnect(0);
        CHECK(p.alice.last(EventType::disconnected)->error == Error::peer_timed_out);
    }
    CHECK(p.alice.last(EventType::disconnected)->connection == 1);
    CHECK(p.alice.conn.ended());
}

TEST_CASE("old probes and acknowledgements replayed while the path is suspected move nothing",
          "[connection][paths]") {
    Pair p;
    p.relay_open = true;
    p.begin(true);
    p.connect_both();
    p.run_until([] { return false; }, 6s);  // a standby round through the relay, answered
    // What bob sent through the relay, as a sniffer captured it.
    std::vector<Bytes> captured;
    for (const auto& [to, bytes] : p.bob.wire.history)
        if (to == kAliceRelayed) captured.push_back(bytes);
    REQUIRE(captured.size() >= 2);
    REQUIRE(p.alice.conn.puncher().candidate(kBobRelayed) != nullptr);
    REQUIRE(p.alice.conn.puncher().candidate(kBobRelayed)->acked);
    // Every path goes dead; alice suspects hers and probes all. The old datagrams, re-sent
    // from bob's relay, open nothing.
    p.direct_open = p.relay_open = false;
    p.run_until([] { return false; }, p.alice.config.path_silence + 100ms);
    const auto refused = p.alice.refused;
    for (const auto& bytes : captured) {
        Incoming in{bytes, kBobRelayed};
        p.alice.path.route(in, p.alice.conn.link(), p.alice);
        p.step();
    }
    CHECK(p.alice.count(EventType::path_changed) == 0);
    CHECK(p.alice.conn.path() == Path::direct);
    CHECK(p.alice.refused - refused == captured.size());  // each opened, then refused as a copy
}
