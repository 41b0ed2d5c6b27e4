// One connection's state machine without a socket: two Connections (alice asks, the initiator;
// bob, the responder) whose probes cross a simulated wire with a direct path and a relayed one
// that can each be open or closed, time stepped by hand. ENet is stood for by a peer struct the
// test fills in, as ENet would on a connect.
#include <catch2/catch.hpp>

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
constexpr std::uint64_t kToken = 0x1122334455667788ull;

// Stands for the ENet peer ENet would make: only what the connection reads and ENet's own
// peer calls touch.
struct FakeEnetPeer {
    ENetPeer peer{};
    explicit FakeEnetPeer(Address at) {
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
    void send_raw(Address to, std::span<const std::uint8_t> bytes) override {
        sent.emplace_back(to, Bytes(bytes.begin(), bytes.end()));
    }
};

// One side: its connection, the datagram path in front of it, and its own addresses.
struct Side final : DatagramPath::Receiver {
    Side(PeerId id, Address public_address, Address relayed_address)
        : conn(config, id, relay, wire, events), self(public_address), relayed(relayed_address) {}

    Config config;
    Relay relay;  // never started: the connection only reads whether it is
    Wire wire;
    std::deque<Event> events;
    Connection conn;
    DatagramPath path{kServer, true};
    Address self;
    Address relayed;
    TimePoint now{};

    void on_server(const Envelope&, Address) override {}
    void on_probe(const Message& message, Address from) override {
        conn.on_probe(message, from, now);
    }
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
    CHECK(p.alice.conn.take_enet_connect() == kBobPublic);
    CHECK_FALSE(p.alice.conn.take_enet_connect());  // asked once
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
    CHECK_FALSE(p.alice.conn.needs_relay(p.now));

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
    p.direct_open = false;
    p.relay_open = true;
    p.begin(true);
    // The relay answers within a round trip, but a direct path may still open: it waits.
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    CHECK(p.now - p.start >= p.alice.config.relay_delay);
    CHECK(p.now - p.start < p.alice.config.relay_delay + 100ms);
    CHECK(p.alice.conn.take_enet_connect() == kBobRelayed);
    CHECK(p.alice.conn.needs_relay(p.now));
}

TEST_CASE("a direct path that opens before relay_delay wins over the relay", "[connection]") {
    Pair p;
    p.relay_open = true;
    p.begin(true);
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    CHECK(p.now - p.start < p.alice.config.relay_delay);
    CHECK(p.alice.conn.take_enet_connect() == kBobPublic);
}

TEST_CASE("a relayed connection moves to a direct path that opens later", "[connection]") {
    Pair p;
    p.direct_open = false;
    p.relay_open = true;
    p.begin(true);
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    REQUIRE(p.alice.conn.take_enet_connect() == kBobRelayed);
    FakeEnetPeer enet(kBobRelayed);
    p.alice.conn.attach(&enet.peer);
    REQUIRE(p.alice.conn.on_enet_connect(&enet.peer, 0, p.now));
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
    CHECK(from_enet(enet.peer.address) == kBobPublic);  // ENet sends there from now on
    // The relay lingers a while for what the peer still sends through it, then is not needed.
    CHECK(p.alice.conn.needs_relay(p.now));
    CHECK_FALSE(p.alice.conn.renews_relay());
    CHECK_FALSE(p.alice.conn.needs_relay(p.now + 6s));
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
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    REQUIRE(p.alice.conn.take_enet_connect() == kBobRelayed);
    FakeEnetPeer enet(kBobRelayed);
    p.alice.conn.attach(&enet.peer);
    REQUIRE(p.alice.conn.on_enet_connect(&enet.peer, 0, p.now));
    REQUIRE(p.alice.conn.path() == Path::relay);

    // The same offer again (bob re-sends until he hears alice through it): nothing.
    CHECK(p.alice.conn.on_peer_relay(PeerRelay{kToken, kBobRelayed, kBobPublic}) == 0);
    CHECK(p.alice.count(EventType::path_changed) == 0);
    // Bob's TURN server restarted: his new relayed address replaces the old one.
    CHECK(p.alice.conn.on_peer_relay(PeerRelay{kToken, moved, kBobPublic}) == kBobPublic.ip);
    CHECK(p.alice.conn.peer_relayed() == moved);
    CHECK(from_enet(enet.peer.address) == moved);
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
    REQUIRE(q.run_until([&] { return q.alice.conn.state() == State::connecting; }));
    REQUIRE(q.alice.conn.take_enet_connect() == kBobPublic);
    FakeEnetPeer direct(kBobPublic);
    q.alice.conn.attach(&direct.peer);
    REQUIRE(q.alice.conn.on_enet_connect(&direct.peer, 0, q.now));
    CHECK(q.alice.conn.on_peer_relay(PeerRelay{kToken, moved, kBobPublic}) == kBobPublic.ip);
    CHECK(from_enet(direct.peer.address) == kBobPublic);
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
    REQUIRE(p.alice.conn.take_enet_connect());  // ENet is never told: no handshake
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
    REQUIRE(p.run_until([&] { return p.alice.conn.state() == State::connecting; }));
    REQUIRE(p.alice.conn.take_enet_connect());
    FakeEnetPeer enet(kBobPublic);
    p.alice.conn.attach(&enet.peer);
    REQUIRE(p.alice.conn.on_enet_connect(&enet.peer, 0, p.now));
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
