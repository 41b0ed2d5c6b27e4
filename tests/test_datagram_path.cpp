// The datagram path on its own: two peers' links made from one introduction, datagrams handed
// to DatagramPath::route as the socket would, and what it lets through to ENet; and ENet's own
// send through a link (EnetHost's send hook), caught on a loopback socket.
#include <sys/socket.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
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

// What the path handed up.
struct Recorder final : DatagramPath::Receiver {
    int server = 0;
    int probes = 0;
    int versions = 0;
    void on_server(const Envelope&, Address) override { ++server; }
    void on_probe(const Message&, Address) override { ++probes; }
    void on_server_version(std::uint8_t) override { ++versions; }
};

// Alice (initiator) and Bob, each with a link for the other and a path; and a loopback socket
// that stands for Bob's, to catch what Alice's ENet sends him.
struct Pair {
    crypto::KeyPair alice_keys = crypto::generate_key_pair();
    crypto::KeyPair bob_keys = crypto::generate_key_pair();
    Introduction to_alice{kToken, Role::initiator, "bob", kBobPublic, {}, {}, bob_keys.public_key};
    Introduction to_bob{kToken, Role::responder,      "alice", kAlicePublic, {},
                        {},     alice_keys.public_key};
    ENetSocket enet = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);  // "Bob's socket"
    Address bob_socket;
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
        bob_socket = from_enet(bound);
        REQUIRE(alice.begin(alice_keys, "alice", to_alice));
        REQUIRE(bob.begin(bob_keys, "bob", to_bob));
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

    // The next datagram on Bob's socket (an empty one too), waiting up to a second for it.
    std::optional<Bytes> next_at_bob() const {
        Bytes buf(ENET_PROTOCOL_MAXIMUM_MTU + kDataOverhead);
        for (int i = 0; i < 1000; ++i) {
            const ssize_t n = ::recv(enet, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n >= 0) {
                buf.resize(static_cast<std::size_t>(n));
                return buf;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return std::nullopt;
    }
};

// An ENet datagram as ENet 1.3 lays it out with a checksum slot: peer id 0 with the SENT_TIME
// flag, sent time, slot, then an acknowledgement-flagged command byte and some bytes.
Bytes enet_datagram(std::string_view body) {
    constexpr std::array<std::uint8_t, 9> kHead = {0x80, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0x86};
    Bytes d(kHead.size() + body.size());
    std::copy(kHead.begin(), kHead.end(), d.begin());
    std::copy(body.begin(), body.end(), d.begin() + kHead.size());
    return d;
}

}  // namespace

TEST_CASE(
    "what ENet sends a peer is sealed by its link, and opens at the peer from where it came") {
    Pair p;
    p.handshake();
    const Bytes enet = enet_datagram("reliable command, sequence 7");
    Bytes sealed(enet.size() + kDataOverhead);
    REQUIRE(p.alice.seal_enet(enet, sealed) == sealed.size());
    CHECK(std::search(sealed.begin(), sealed.end(), enet.begin() + 9, enet.end()) == sealed.end());

    const auto got = Pair::route(p.bob_path, p.bob, p.bob_got, sealed, kAlicePublic);
    REQUIRE(got);
    CHECK(got->first == enet);
    CHECK(got->second == kAlicePublic);  // ENet knows Alice by her real address
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

TEST_CASE("a link without data keys refuses to seal, and an ended one opens nothing") {
    Pair p;
    const Bytes enet = enet_datagram("ping");
    Bytes out(enet.size() + kDataOverhead);
    CHECK(p.alice.seal_enet(enet, out) == 0);  // no probe opened yet: no data keys
    p.handshake();
    p.bob.end();
    CHECK(p.bob.seal_enet(enet, out) == 0);
    Bytes probe(kMaxDatagramSize);
    probe.resize(p.alice.channel.seal_probe(Probe{kToken, 2}, probe));
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, kAlicePublic));
    CHECK(p.bob_got.probes == 1);
}

TEST_CASE("a sealed datagram too short to hold ENet's checksum slot never reaches ENet") {
    Pair p;
    p.handshake();
    const Bytes short_one = {0x80, 0x00, 0x12, 0x34, 0, 0};  // SENT_TIME set: the slot is at 4
    Bytes sealed(short_one.size() + kDataOverhead);
    REQUIRE(p.alice.seal_enet(short_one, sealed) == sealed.size());
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, sealed, kAlicePublic));
    CHECK(p.bob_path.dropped() == 1);
}

// The send hook rests on ENet 1.3's order inside enet_protocol_send_outgoing_commands: the
// checksum callback, then enet_socket_send on host->buffers (PROTOCOL.md §11.4). An ENet that
// changed it would send its datagrams in clear or garbled: this catches both.
TEST_CASE("ENet's own send carries its datagram sealed by the link, and nothing in clear") {
    Pair p;
    p.handshake();
    EnetHost alice_host;
    REQUIRE(alice_host.open(Address{0x7F000001u, 0}, 1, 1, {}, &p.alice));
    const ENetAddress to = to_enet(p.bob_socket);
    REQUIRE(enet_host_connect(alice_host.get(), &to, 1, 0x5EA1ED) != nullptr);
    alice_host.flush();

    const auto wire = p.next_at_bob();
    REQUIRE(wire);
    REQUIRE(protocol::has_magic(*wire));
    CHECK(alice_host.get()->totalSentData == wire->size());  // ENet's sendmsg sent the sealed one
    const auto got = Pair::route(p.bob_path, p.bob, p.bob_got, *wire, alice_host.local_address());
    REQUIRE(got);
    // ENet's CONNECT: peer id 0xFFF (no peer yet) with SENT_TIME, sent time, a slot of 0 (no
    // connectID yet), then the command: CONNECT (2) flagged for acknowledgement (0x80).
    const Bytes& enet = got->first;
    REQUIRE(enet.size() > 8);
    CHECK(enet[0] == 0x8F);
    CHECK(enet[1] == 0xFF);
    CHECK(Bytes(enet.begin() + 4, enet.begin() + 8) == Bytes(4, 0));
    CHECK(enet[8] ==
          0x82);  // ENET_PROTOCOL_COMMAND_CONNECT | ENET_PROTOCOL_COMMAND_FLAG_ACKNOWLEDGE
    CHECK(alice_host.seal_refused() == 0);
}

TEST_CASE("a datagram ENet sends before the link has data keys leaves empty") {
    Pair p;  // no handshake: Alice's link cannot seal
    EnetHost alice_host;
    REQUIRE(alice_host.open(Address{0x7F000001u, 0}, 1, 1, {}, &p.alice));
    const ENetAddress to = to_enet(p.bob_socket);
    REQUIRE(enet_host_connect(alice_host.get(), &to, 1, 0) != nullptr);
    alice_host.flush();
    const auto wire = p.next_at_bob();
    REQUIRE(wire);
    CHECK(wire->empty());
    CHECK(alice_host.seal_refused() == 1);
}

TEST_CASE(
    "a probe carries its introduction's tag, and one with a tag of none of ours is dropped "
    "before any key is tried") {
    Pair p;
    Bytes probe(kMaxDatagramSize);
    probe.resize(p.alice.channel.seal_probe(Probe{kToken, 1}, probe));
    Envelope envelope;
    REQUIRE(decode_envelope(probe, envelope) == DecodeError::ok);
    const auto key = DatagramPath::key_of(probe);
    REQUIRE(key);
    CHECK(key->probe);
    CHECK(key->value == p.alice.channel.probe_tag());
    CHECK(p.alice.channel.probe_tag() == p.bob.channel.probe_tag());  // one introduction's
    // Another probe of the same introduction: the same 4-byte tag, 20 other random bytes.
    Bytes again(kMaxDatagramSize);
    again.resize(p.alice.channel.seal_probe(Probe{kToken, 2}, again));
    Envelope other;
    REQUIRE(decode_envelope(again, other) == DecodeError::ok);
    CHECK(std::equal(envelope.probe_nonce.begin(), envelope.probe_nonce.begin() + 4,
                     other.probe_nonce.begin()));
    CHECK_FALSE(std::equal(envelope.probe_nonce.begin() + 4, envelope.probe_nonce.end(),
                           other.probe_nonce.begin() + 4));

    // Another tag: dropped and counted as such, whatever the box holds.
    probe[kHeaderSize] ^= 0x01;
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, probe, kAlicePublic));
    CHECK(p.bob_got.probes == 0);
    CHECK(p.bob_path.unknown_tags() == 1);
    CHECK(p.bob_path.unauthenticated() == 1);
    CHECK_FALSE(Pair::route(p.bob_path, p.bob, p.bob_got, again, kAlicePublic));
    CHECK(p.bob_got.probes == 1);
}

TEST_CASE("ENet's datagrams name their connection: the slot's connectID, or a CONNECT's") {
    std::array<std::uint8_t, 64> d{};
    CHECK_FALSE(enet_connection_of(std::span(d.data(), 3)));
    const enet_uint32 id = 0xA1B2C3D4u;
    std::memcpy(d.data() + 2, &id, sizeof id);  // no sent time: the slot follows the peer id
    auto of = enet_connection_of(std::span(d.data(), 8));
    REQUIRE(of);
    CHECK(of->connect_id == id);
    CHECK_FALSE(of->connect);
    // 0 in the slot: only a CONNECT says whose it is.
    std::array<std::uint8_t, 2 + 4 + sizeof(ENetProtocolConnect)> c{};
    CHECK_FALSE(enet_connection_of(c));
    c[6] = static_cast<std::uint8_t>(ENET_PROTOCOL_COMMAND_CONNECT) |
           static_cast<std::uint8_t>(ENET_PROTOCOL_COMMAND_FLAG_ACKNOWLEDGE);
    std::memcpy(c.data() + 6 + offsetof(ENetProtocolConnect, connectID), &id, sizeof id);
    of = enet_connection_of(c);
    REQUIRE(of);
    CHECK(of->connect_id == id);
    CHECK(of->connect);
    CHECK_FALSE(enet_connection_of(std::span(c.data(), c.size() - 1)));  // cut short
}

TEST_CASE(
    "an ENet datagram reaches ENet only naming its own link's connection, and a CONNECT "
    "cannot claim another connection's connectID") {
    PeerLink link;
    const enet_uint32 ours = 0x11111111u;
    const enet_uint32 theirs = 0x22222222u;  // another live connection's
    const auto taken = [&](enet_uint32 id) { return id == theirs; };
    const auto slot = [](enet_uint32 id) {
        std::vector<std::uint8_t> d(8, 0);
        std::memcpy(d.data() + 2, &id, sizeof id);
        return d;
    };
    const auto connect = [](enet_uint32 id) {
        std::vector<std::uint8_t> d(2 + 4 + sizeof(ENetProtocolConnect), 0);
        d[6] = ENET_PROTOCOL_COMMAND_CONNECT;
        std::memcpy(d.data() + 6 + offsetof(ENetProtocolConnect, connectID), &id, sizeof id);
        return d;
    };
    // A CONNECT naming another connection's connectID: refused, nothing claimed.
    CHECK_FALSE(admit_enet(link, connect(theirs), true, taken));
    CHECK_FALSE(link.connect_id);
    // An initiator's link takes no CONNECT at all: its peer connects to nobody.
    CHECK_FALSE(admit_enet(link, connect(ours), false, taken));
    // A responder's link claims the connectID of its peer's CONNECT, and keeps it.
    CHECK(admit_enet(link, connect(ours), true, taken));
    REQUIRE(link.connect_id);
    CHECK(*link.connect_id == ours);
    // A copy (on another candidate, or re-sent) is refused: from another address it would make
    // ENet a second peer; ENet's own re-sends of VERIFY_CONNECT need none.
    CHECK_FALSE(admit_enet(link, connect(ours), true, taken));
    CHECK_FALSE(admit_enet(link, connect(0x33333333u), true, taken));
    CHECK(*link.connect_id == ours);
    // After the handshake: only datagrams naming our connection.
    CHECK(admit_enet(link, slot(ours), true, taken));
    CHECK_FALSE(admit_enet(link, slot(theirs), true, taken));
    CHECK(admit_enet(link, slot(0), true, taken));  // addressed to no peer: ENet ignores it
    link.end();
    CHECK_FALSE(link.connect_id);
}
