// The datagram path on its own: two peers' links made from one introduction, datagrams handed
// to DatagramPath::route as the socket would, and what it lets through to ENet. The taps are
// real loopback sockets; nothing else is.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "datagram_path.hpp"

using namespace netcore;
using namespace netcore::detail;
using namespace netcore::protocol;

namespace {

using Bytes = std::vector<std::uint8_t>;

const Address kServer{0xCB00710Au, 7777};
const Address kAlicePublic{0xC6336401u, 5000};
const Address kBobPublic{0xCB007116u, 40000};
constexpr std::uint64_t kToken = 0x0102030405060708ull;

Bytes bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

// What the path handed up.
struct Recorder final : DatagramPath::Receiver {
    int server = 0;
    int probes = 0;
    int versions = 0;
    void on_server(const Envelope&, Address) override { ++server; }
    void on_probe(const Message&, Address) override { ++probes; }
    void on_server_version(std::uint8_t) override { ++versions; }
};

struct Sink final : RawOutbox {
    std::vector<std::pair<Address, Bytes>> sent;
    void send_raw(Address to, std::span<const std::uint8_t> b) override {
        sent.emplace_back(to, Bytes(b.begin(), b.end()));
    }
};

// Alice (initiator) and Bob, each with a link for the other and a path; ENet's socket port is
// a stand-in socket's, so the taps accept what it sends.
struct Pair {
    crypto::KeyPair alice_keys = crypto::generate_key_pair();
    crypto::KeyPair bob_keys = crypto::generate_key_pair();
    Introduction to_alice{kToken, Role::initiator, "bob", kBobPublic, {}, {}, bob_keys.public_key};
    Introduction to_bob{kToken, Role::responder,      "alice", kAlicePublic, {},
                        {},     alice_keys.public_key};
    ENetSocket enet = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);  // "ENet's socket"
    std::uint16_t enet_port = 0;
    PeerLink alice;
    PeerLink bob;
    DatagramPath alice_path{kServer, true};
    DatagramPath bob_path{kServer, true};
    Recorder alice_got;
    Recorder bob_got;

    Pair() {
        REQUIRE(enet_initialize() == 0);
        ENetAddress any{};
        any.host = ENET_HOST_TO_NET_32(0x7F000001u);
        REQUIRE(enet_socket_bind(enet, &any) == 0);
        ENetAddress bound{};
        REQUIRE(enet_socket_get_address(enet, &bound) == 0);
        enet_port = bound.port;
        REQUIRE(alice.begin(alice_keys, "alice", to_alice, true, enet_port));
        REQUIRE(bob.begin(bob_keys, "bob", to_bob, true, enet_port));
    }
    ~Pair() { enet_socket_destroy(enet); }

    // Hands `datagram` to `path` as if it came from `from`; returns what ENet would see, if any.
    static std::optional<std::pair<Bytes, Address>> route(DatagramPath& path, PeerLink& link,
                                                          Recorder& r, Bytes datagram,
                                                          Address from) {
        Incoming in{datagram, from};
        if (path.route(in, link, r)) return std::nullopt;
        return std::make_pair(Bytes(in.data.begin(), in.data.end()), in.from);
    }

    // A probe from Alice and Bob's acknowledgement: both sides can seal data after it.
    void handshake() {
        Bytes probe(kMaxDatagramSize);
        probe.resize(alice.channel.seal_probe(Probe{kToken, 1}, probe));
        REQUIRE_FALSE(route(bob_path, bob, bob_got, probe, kAlicePublic));
        REQUIRE(bob_got.probes == 1);
        Bytes ack(kMaxDatagramSize);
        ack.resize(bob.channel.seal_probe(ProbeAck{kToken, 1, kAlicePublic}, ack));
        REQUIRE_FALSE(route(alice_path, alice, alice_got, ack, kBobPublic));
        REQUIRE(alice_got.probes == 1);
        REQUIRE(alice.channel.data_ready());
        REQUIRE(bob.channel.data_ready());
    }

    // What ENet would send Bob: sent from "ENet's socket" into Alice's tap for Bob.
    void enet_sends(const PeerLink& to, const Bytes& b) const {
        ENetAddress tap{};
        tap.host = ENET_HOST_TO_NET_32(to.tap->address().ip);
        tap.port = to.tap->address().port;
        ENetBuffer buf{};
        buf.data = const_cast<std::uint8_t*>(b.data());
        buf.dataLength = b.size();
        REQUIRE(enet_socket_send(enet, &tap, &buf, 1) == static_cast<int>(b.size()));
    }
};

}  // namespace

TEST_CASE("what ENet sends a peer is sealed, and opens at the peer as if from its tap") {
    Pair p;
    p.handshake();
    const Bytes enet = bytes("an ENet datagram: reliable command, sequence 7");
    p.enet_sends(p.alice, enet);
    Sink wire;
    // Loopback delivery is immediate on Linux, but give the drain a few tries all the same.
    for (int i = 0; i < 100 && wire.sent.empty(); ++i) p.alice_path.pump(p.alice, kBobPublic, wire);
    REQUIRE(wire.sent.size() == 1);
    CHECK(wire.sent[0].first == kBobPublic);
    const Bytes& sealed = wire.sent[0].second;
    CHECK(sealed.size() == enet.size() + kDataOverhead);
    CHECK(std::search(sealed.begin(), sealed.end(), enet.begin() + 3, enet.end()) == sealed.end());

    const auto got = Pair::route(p.bob_path, p.bob, p.bob_got, sealed, kAlicePublic);
    REQUIRE(got);
    CHECK(got->first == enet);
    CHECK(got->second == p.bob.tap->address());  // ENet knows Alice by Bob's tap for her
    CHECK(p.bob.data_from == kAlicePublic);
    // The same datagram again is a replay: consumed, counted, not for ENet.
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, sealed, kAlicePublic));
    CHECK(p.bob_path.dropped() == 1);
    CHECK(p.bob_path.unauthenticated() == 0);
}

TEST_CASE("nothing unsealed reaches ENet, unless both sides chose plaintext ENet") {
    Pair p;
    const Bytes enet_connect = {0x0F, 0xFF, 0x82, 0xFF, 0x00, 0x01, 0x00, 0x00};
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, enet_connect, kAlicePublic));
    CHECK(p.bob_path.unauthenticated() == 1);

    DatagramPath plaintext(kServer, false);
    const auto got = Pair::route(plaintext, p.bob, p.bob_got, enet_connect, kAlicePublic);
    REQUIRE(got);
    CHECK(got->first == enet_connect);
    CHECK(got->second == kAlicePublic);
}

TEST_CASE("a datagram that does not open is dropped as unauthenticated, whatever it claims") {
    Pair p;
    p.handshake();
    // A PeerData for Bob's channel with a box nobody sealed, and a probe from a third party.
    Bytes forged(kDataHead + 40, 0x33);
    REQUIRE(encode_data_head(p.bob.channel.channel(), 1000, forged) == kDataHead);
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, forged, kAlicePublic));
    PeerChannel stranger;
    Introduction fake = p.to_alice;
    fake.peer_key = crypto::generate_key_pair().public_key;
    REQUIRE(stranger.begin(crypto::generate_key_pair(), "alice", fake));
    Bytes probe(kMaxDatagramSize);
    probe.resize(stranger.seal_probe(Probe{kToken, 9}, probe));
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, kAlicePublic));
    CHECK(p.bob_got.probes == 1);  // only the handshake's
    CHECK(p.bob_path.unauthenticated() == 2);
}

TEST_CASE("server envelopes are handed up only from the server's address") {
    Pair p;
    Bytes challenge(kChallengeSize);
    REQUIRE(encode_challenge(PublicKey{}, {}, {}, challenge) == kChallengeSize);
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, challenge, kAlicePublic));
    CHECK(p.bob_got.server == 0);
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, challenge, kServer));
    CHECK(p.bob_got.server == 1);
    const Bytes v1 = {'N', 'C', 'R', 'V', 1, 0x02, 0, 0};
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, v1, kServer));
    CHECK(p.bob_got.versions == 1);
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, v1, kAlicePublic));
    CHECK(p.bob_got.versions == 1);  // another version from anyone else is just dropped
}

TEST_CASE("relay only: a peer's datagrams count only from its relay") {
    Pair p;
    p.bob.relay_only = true;
    Bytes probe(kMaxDatagramSize);
    probe.resize(p.alice.channel.seal_probe(Probe{kToken, 1}, probe));
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, kAlicePublic));
    CHECK(p.bob_got.probes == 0);  // no relay known yet: nothing is admitted
    const Address relay{0xCB007150u, 50000};
    p.bob.relayed = relay;
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, kAlicePublic));
    CHECK(p.bob_got.probes == 0);
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, relay));
    CHECK(p.bob_got.probes == 1);
}

TEST_CASE("an ended link opens nothing and has no tap") {
    Pair p;
    p.handshake();
    p.bob.end();
    CHECK_FALSE(p.bob.tap);
    Bytes probe(kMaxDatagramSize);
    probe.resize(p.alice.channel.seal_probe(Probe{kToken, 2}, probe));
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, kAlicePublic));
    CHECK(p.bob_got.probes == 1);
}
