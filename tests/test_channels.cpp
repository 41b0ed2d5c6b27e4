// The sealed channels (PROTOCOL.md §11), without sockets: a client's SignalChannel against the
// server half of signal_server.hpp, and two PeerChannels that were introduced to each other.
#include <catch2/catch.hpp>

#include <vector>

#include "peer_channel.hpp"
#include "signal_channel.hpp"
#include "signal_server.hpp"

using namespace netcore;
using namespace netcore::protocol;
using netcore::detail::PeerChannel;
using netcore::detail::SignalChannel;
using netcore::test::Bytes;
using netcore::test::envelope_of;
using netcore::test::SignalServer;
using Outcome = SignalChannel::ChallengeOutcome;
using OpenError = SignalChannel::OpenError;
using Drop = PeerChannel::Drop;

namespace {

Bytes sealed_by(SignalChannel& client, const Message& m) {
    Bytes b(kMaxDatagramSize);
    const auto n = client.seal(m, b);
    REQUIRE(n > 0);
    b.resize(n);
    return b;
}

// Gives the client a server datagram, as the session would: decoded, then opened.
OpenError give(SignalChannel& client, const Bytes& datagram, Message& out) {
    std::array<std::uint8_t, kMaxDatagramSize> scratch{};
    return client.open(envelope_of(datagram), scratch, out);
}

const RegisterRequest kRegister{42, "alice", {}};
const RegisterAck kAck{42, {0xCB007107u, 61000}, 15000, 45000};

}  // namespace

// ---- SignalChannel ---------------------------------------------------------------------------

TEST_CASE("a Hello is 70 bytes in clear with the client's key", "[channel]") {
    SignalChannel client(std::nullopt);
    std::array<std::uint8_t, kMaxDatagramSize> buf{};
    REQUIRE(client.hello(buf) == kHelloSize);
    const auto e = envelope_of(std::span(buf.data(), kHelloSize));
    CHECK(e.type == EnvelopeType::hello);
    CHECK(e.client_key == client.key_pair().public_key);
    CHECK_FALSE(client.keyed());
}

TEST_CASE("nothing is sealed or opened before a Challenge keyed the channel", "[channel]") {
    SignalChannel client(std::nullopt);
    SignalServer server;
    std::array<std::uint8_t, kMaxDatagramSize> buf{};
    CHECK(client.seal(kRegister, buf) == 0);
    Message m;
    CHECK(give(client, server.seal(client.key_pair().public_key, kAck), m) ==
          OpenError::unauthenticated);
}

TEST_CASE("a Challenge keys the channel both ways", "[channel]") {
    SignalChannel client(std::nullopt);
    SignalServer server;
    REQUIRE(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::new_salt);
    CHECK(client.keyed());

    // What the client seals, the server opens; its head carries the client's key and cookie.
    const auto reg = sealed_by(client, kRegister);
    const auto e = envelope_of(reg);
    CHECK(e.type == EnvelopeType::client_sealed);
    CHECK(e.counter == 1);
    CHECK(reg.size() == kClientSealedHead + 1 + 8 + 1 + 5 + 1 + 1 + kTagSize);
    const auto opened = server.open(reg);
    REQUIRE(opened);
    CHECK(std::get<RegisterRequest>(*opened) == kRegister);
    CHECK(server.last_client() == client.key_pair().public_key);
    CHECK(server.last_cookie() == server.cookie());
    CHECK(envelope_of(sealed_by(client, kRegister)).counter == 2);

    // What the server seals, the client opens.
    Message m;
    REQUIRE(give(client, server.seal(client.key_pair().public_key, kAck), m) == OpenError::none);
    CHECK(std::get<RegisterAck>(m) == kAck);
}

TEST_CASE("a replayed server datagram is refused, an out-of-order one is not", "[channel]") {
    SignalChannel client(std::nullopt);
    SignalServer server;
    REQUIRE(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::new_salt);
    const auto& me = client.key_pair().public_key;
    const auto first = server.seal(me, kAck);
    const auto second = server.seal(me, kAck);
    Message m;
    CHECK(give(client, second, m) == OpenError::none);
    CHECK(give(client, first, m) == OpenError::none);  // late, but not seen
    CHECK(give(client, first, m) == OpenError::replayed);
    CHECK(give(client, second, m) == OpenError::replayed);
}

TEST_CASE("a server datagram sealed under another key is unauthenticated", "[channel]") {
    SignalChannel client(std::nullopt);
    SignalServer server;
    REQUIRE(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::new_salt);
    const auto& me = client.key_pair().public_key;
    SignalServer stranger;  // knows our public key, not the server's secret
    Message m;
    CHECK(give(client, stranger.seal(me, kAck), m) == OpenError::unauthenticated);
    // A forgery does not use up its counter: the real datagram with it still opens.
    CHECK(give(client, server.seal(me, kAck), m) == OpenError::none);

    // Damage anywhere in head or box.
    const auto good = server.seal(me, kAck);
    for (std::size_t i = 0; i < good.size(); ++i) {
        if (i < kHeaderSize) continue;  // the header decides the envelope, not the box
        auto bad = good;
        bad[i] ^= 0x20;
        Envelope e;
        if (decode_envelope(bad, e) != DecodeError::ok) continue;
        std::array<std::uint8_t, kMaxDatagramSize> scratch{};
        INFO("byte " << i);
        CHECK(client.open(e, scratch, m) != OpenError::none);
    }
    CHECK(give(client, good, m) == OpenError::none);
}

TEST_CASE("a sealed server message that is not a valid message is malformed", "[channel]") {
    SignalChannel client(std::nullopt);
    SignalServer server;
    REQUIRE(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::new_salt);
    const auto key = server.key_for(client.key_pair().public_key);
    REQUIRE(key);
    Bytes b(kMaxDatagramSize);
    const auto head = encode_server_sealed_head(9, b);
    const Bytes junk = {0x7E, 1, 2, 3};  // an unknown inner type
    const auto box = crypto::seal(*key, crypto::kFromServer, 9, std::span(b).first(head), junk,
                                  std::span(b).subspan(head));
    b.resize(head + box);
    Message m;
    CHECK(give(client, b, m) == OpenError::malformed);
    CHECK(give(client, b, m) == OpenError::replayed);  // it opened: its counter is used
}

TEST_CASE("trust on first use learns the server's key from the first Challenge", "[channel]") {
    SignalChannel client(std::nullopt);
    CHECK_FALSE(client.server_key());
    SignalServer server;
    REQUIRE(client.on_challenge(envelope_of(server.challenge()), true) == Outcome::new_salt);
    REQUIRE(client.server_key());
    CHECK(*client.server_key() == server.public_key());
    // From then on the key is pinned: another server's Challenge is ignored, even when salts
    // may be taken, and the channel keeps working with the first.
    SignalServer other;
    CHECK(client.on_challenge(envelope_of(other.challenge()), true) == Outcome::ignored);
    CHECK(*client.server_key() == server.public_key());
    CHECK(server.open(sealed_by(client, kRegister)));
}

TEST_CASE("a pinned key ignores a Challenge naming another key", "[channel]") {
    SignalServer server;
    SignalServer impostor;
    SignalChannel client(server.public_key());
    CHECK(client.on_challenge(envelope_of(impostor.challenge()), true) == Outcome::ignored);
    CHECK_FALSE(client.keyed());
    CHECK(*client.server_key() == server.public_key());
    CHECK(client.on_challenge(envelope_of(server.challenge()), true) == Outcome::new_salt);
    CHECK(server.open(sealed_by(client, kRegister)));
}

TEST_CASE("a pinned low-order key keys nothing, and is not replaced by trust on first use",
          "[channel]") {
    // A key X25519 refuses (all zeros): the game pinned something unusable. The client must not
    // fall back to trusting whichever server answers first, nor key with the zero secret.
    SignalChannel client(PublicKey{});
    SignalServer server;
    CHECK(client.on_challenge(envelope_of(server.challenge()), true) == Outcome::ignored);
    CHECK_FALSE(client.keyed());
    // Not even a Challenge that names the pinned key itself.
    Bytes b(kChallengeSize);
    REQUIRE(encode_challenge(PublicKey{}, server.salt(), server.cookie(), b) == kChallengeSize);
    CHECK(client.on_challenge(envelope_of(b), true) == Outcome::ignored);
    CHECK_FALSE(client.keyed());
    std::array<std::uint8_t, kMaxDatagramSize> buf{};
    CHECK(client.seal(kRegister, buf) == 0);
}

TEST_CASE("a new salt is refused unless the caller accepts one, and the channel keeps working",
          "[channel]") {
    const auto keys = crypto::generate_key_pair();
    SignalServer before(keys);
    SignalServer restarted(keys);  // the same server key, a new run: a new salt
    REQUIRE(before.salt() != restarted.salt());
    SignalChannel client(keys.public_key);
    const auto& me = client.key_pair().public_key;
    REQUIRE(client.on_challenge(envelope_of(before.challenge()), false) == Outcome::new_salt);

    CHECK(client.on_challenge(envelope_of(restarted.challenge()), false) == Outcome::ignored);
    CHECK(before.open(sealed_by(client, kRegister)));
    CHECK_FALSE(restarted.open(sealed_by(client, kRegister)));
    Message m;
    CHECK(give(client, before.seal(me, kAck), m) == OpenError::none);

    CHECK(client.on_challenge(envelope_of(restarted.challenge()), true) == Outcome::new_salt);
    CHECK(restarted.open(sealed_by(client, kRegister)));
    CHECK(restarted.last_cookie() == restarted.cookie());
    CHECK_FALSE(before.open(sealed_by(client, kRegister)));
    CHECK(give(client, restarted.seal(me, kAck), m) == OpenError::none);
    // The old run's counters are below the new run's: refused before any open is tried.
    CHECK(give(client, before.seal(me, kAck), m) == OpenError::replayed);
}

TEST_CASE("a new cookie with the same salt is taken; the same one again is ignored", "[channel]") {
    SignalServer server;
    SignalChannel client(server.public_key());
    REQUIRE(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::new_salt);
    CHECK(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::ignored);
    const auto old_cookie = server.cookie();
    server.new_cookie();
    CHECK(client.on_challenge(envelope_of(server.challenge()), false) == Outcome::new_cookie);
    const auto e = envelope_of(sealed_by(client, kRegister));
    CHECK(e.cookie == server.cookie());
    CHECK(e.cookie != old_cookie);
    CHECK(e.counter == 1);  // the key did not change: the counter goes on
    CHECK(envelope_of(sealed_by(client, kRegister)).counter == 2);
}

TEST_CASE("the client's counters never repeat under a key, even when an earlier salt returns",
          "[channel]") {
    // Challenges travel in clear: anyone can send one again. A client that goes from salt A to B
    // and back to A has the same signal key as before, and must not seal under a nonce it used.
    const auto keys = crypto::generate_key_pair();
    SignalServer a(keys);
    SignalServer b(keys);
    SignalChannel client(keys.public_key);
    REQUIRE(client.on_challenge(envelope_of(a.challenge()), true) == Outcome::new_salt);
    std::vector<std::uint64_t> used;
    for (int i = 0; i < 3; ++i) used.push_back(envelope_of(sealed_by(client, kRegister)).counter);
    REQUIRE(client.on_challenge(envelope_of(b.challenge()), true) == Outcome::new_salt);
    sealed_by(client, kRegister);
    REQUIRE(client.on_challenge(envelope_of(a.challenge()), true) == Outcome::new_salt);
    const auto again = sealed_by(client, kRegister);
    CHECK(a.open(again));
    CHECK(std::find(used.begin(), used.end(), envelope_of(again).counter) == used.end());
}

TEST_CASE("a server datagram replayed after its salt came back is still refused", "[channel]") {
    // Salt A, then B (the server restarted, or a forged Challenge), then A's Challenge replayed:
    // the key of A is back, but the replay window was kept, so A's old datagrams stay refused.
    const auto keys = crypto::generate_key_pair();
    SignalServer a(keys);
    SignalServer b(keys);
    SignalChannel client(keys.public_key);
    REQUIRE(client.on_challenge(envelope_of(a.challenge()), true) == Outcome::new_salt);
    const auto old = a.seal(client.key_pair().public_key, kAck);
    protocol::Message m;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch{};
    REQUIRE(client.open(envelope_of(old), scratch, m) == SignalChannel::OpenError::none);
    REQUIRE(client.on_challenge(envelope_of(b.challenge()), true) == Outcome::new_salt);
    REQUIRE(client.open(envelope_of(b.seal(client.key_pair().public_key, kAck)), scratch, m) ==
            SignalChannel::OpenError::none);
    REQUIRE(client.on_challenge(envelope_of(a.challenge()), true) == Outcome::new_salt);
    CHECK(client.open(envelope_of(old), scratch, m) == SignalChannel::OpenError::replayed);
}

// ---- PeerChannel -----------------------------------------------------------------------------

namespace {

const Address kAlicePublic{0xC6336401u, 5000};
const Address kBobPublic{0xCB007116u, 40000};
constexpr std::uint64_t kToken = 0x1122334455667788ull;

// Alice and Bob, each with a run key pair and the Introduction the server sent them: the same
// token, the other's name and key; Alice initiates.
struct Pair {
    crypto::KeyPair alice_keys = crypto::generate_key_pair();
    crypto::KeyPair bob_keys = crypto::generate_key_pair();
    Introduction to_alice{kToken, Role::initiator, "bob", kBobPublic, {}, {}, bob_keys.public_key};
    Introduction to_bob{kToken, Role::responder,      "alice", kAlicePublic, {},
                        {},     alice_keys.public_key};
    PeerChannel alice;
    PeerChannel bob;

    Pair() {
        REQUIRE(alice.begin(alice_keys, "alice", to_alice));
        REQUIRE(bob.begin(bob_keys, "bob", to_bob));
    }
    // Another session of the same introduction at Alice's end (she acted on it twice).
    PeerChannel alice_again() const {
        PeerChannel c;
        REQUIRE(c.begin(alice_keys, "alice", to_alice));
        return c;
    }
};

Bytes probe_from(PeerChannel& from, const Message& m) {
    Bytes b(kMaxDatagramSize);
    const auto n = from.seal_probe(m, b);
    REQUIRE(n > 0);
    b.resize(n);
    return b;
}

Drop give_probe(PeerChannel& to, const Bytes& datagram, Message* out = nullptr) {
    std::array<std::uint8_t, kMaxDatagramSize> scratch{};
    Message m;
    const auto drop = to.open_probe(envelope_of(datagram), scratch, m);
    if (out) *out = m;
    return drop;
}

Bytes data_from(PeerChannel& from, const Bytes& enet) {
    Bytes b(enet.size() + kDataOverhead);
    const auto n = from.seal_data(enet, b);
    REQUIRE(n == b.size());
    return b;
}

// Opens a copy of `datagram` in place, as the session does inside ENet's buffer.
Drop give_data(PeerChannel& to, Bytes datagram, Bytes* plain_out = nullptr) {
    const auto e = envelope_of(datagram);
    const std::span<std::uint8_t> box(datagram.data() + e.ad.size(), e.box.size());
    std::span<const std::uint8_t> plain;
    const auto drop = to.open_data(e, box, plain);
    if (drop == Drop::none) {
        CHECK(plain.data() == box.data());  // in place
        if (plain_out) plain_out->assign(plain.begin(), plain.end());
    }
    return drop;
}

const Bytes kEnet = {0x80, 0x01, 0x02, 0x03, 'e', 'n', 'e', 't'};
const Bytes kEnetBack = {0x00, 0x09, 'b', 'a', 'c', 'k'};

// Alice probes, Bob acknowledges: both know each other's nonce, Alice's is confirmed.
void handshake(Pair& p) {
    REQUIRE(give_probe(p.bob, probe_from(p.alice, Probe{kToken, 1})) == Drop::none);
    REQUIRE(give_probe(p.alice, probe_from(p.bob, ProbeAck{kToken, 1, kAlicePublic})) ==
            Drop::none);
}

}  // namespace

TEST_CASE("a probe opens at the peer, and its acknowledgement confirms the session", "[channel]") {
    Pair p;
    CHECK_FALSE(p.alice.data_ready());
    const auto probe = probe_from(p.alice, Probe{kToken, 1});
    CHECK(probe.size() == kProbeHead + kProbePreamble + 13 + kTagSize);
    Message m;
    REQUIRE(give_probe(p.bob, probe, &m) == Drop::none);
    CHECK(std::get<Probe>(m) == Probe{kToken, 1});
    CHECK(p.bob.data_ready());  // Bob knows Alice's nonce, not yet proven current
    CHECK_FALSE(p.bob.confirmed());

    const auto ack = probe_from(p.bob, ProbeAck{kToken, 1, kAlicePublic});
    REQUIRE(give_probe(p.alice, ack, &m) == Drop::none);
    CHECK(std::get<ProbeAck>(m) == ProbeAck{kToken, 1, kAlicePublic});
    CHECK(p.alice.data_ready());
    CHECK(p.alice.confirmed());  // the ack echoed her nonce

    // Bob's probes open at Alice too (the other direction's key).
    REQUIRE(give_probe(p.alice, probe_from(p.bob, Probe{kToken, 2}), &m) == Drop::none);
    CHECK(std::get<Probe>(m).sequence == 2);
    // A probe does not open in the direction it was sealed for: Alice's own does not open at her.
    CHECK(give_probe(p.alice, probe_from(p.alice, Probe{kToken, 3})) == Drop::unauthenticated);
}

TEST_CASE("ENet datagrams open in place at the peer, both ways", "[channel]") {
    Pair p;
    handshake(p);
    Bytes got;
    const auto to_bob = data_from(p.alice, kEnet);
    const auto e = envelope_of(to_bob);
    CHECK(e.type == EnvelopeType::peer_data);
    CHECK(e.channel == p.bob.channel());  // addressed to Bob's channel
    CHECK(e.counter == 1);
    REQUIRE(give_data(p.bob, to_bob, &got) == Drop::none);
    CHECK(got == kEnet);
    CHECK(p.bob.confirmed());  // data under the session's keys proves Alice's nonce

    const auto to_alice = data_from(p.bob, kEnetBack);
    CHECK(envelope_of(to_alice).channel == p.alice.channel());
    REQUIRE(give_data(p.alice, to_alice, &got) == Drop::none);
    CHECK(got == kEnetBack);
    CHECK(p.alice.data_sent() == 1);
    CHECK(p.bob.data_sent() == 1);
}

TEST_CASE("data before the peer's nonce is known is not ready", "[channel]") {
    Pair p;
    Bytes b(kEnet.size() + kDataOverhead);
    CHECK(p.alice.seal_data(kEnet, b) == 0);
    // Bob learned Alice's nonce; Alice has not heard Bob yet.
    REQUIRE(give_probe(p.bob, probe_from(p.alice, Probe{kToken, 1})) == Drop::none);
    CHECK(give_data(p.alice, data_from(p.bob, kEnet)) == Drop::not_ready);
}

TEST_CASE("a replayed data datagram is refused", "[channel]") {
    Pair p;
    handshake(p);
    const auto first = data_from(p.alice, kEnet);
    const auto second = data_from(p.alice, kEnet);
    CHECK(give_data(p.bob, second) == Drop::none);
    CHECK(give_data(p.bob, first) == Drop::none);
    CHECK(give_data(p.bob, first) == Drop::replayed);
    CHECK(give_data(p.bob, second) == Drop::replayed);
}

TEST_CASE("an acknowledgement that echoes another nonce is stale", "[channel]") {
    Pair p;
    // Bob last heard a probe from another session of Alice's: his ack echoes that one's nonce.
    auto other = p.alice_again();
    REQUIRE(give_probe(p.bob, probe_from(other, Probe{kToken, 1})) == Drop::none);
    const auto ack = probe_from(p.bob, ProbeAck{kToken, 1, kAlicePublic});
    CHECK(give_probe(p.alice, ack) == Drop::stale);
    CHECK_FALSE(p.alice.confirmed());
    CHECK(give_probe(other, ack) == Drop::none);  // it was that session's
    CHECK(other.confirmed());
}

TEST_CASE("an earlier session's probe cannot move a confirmed peer, nor its data open",
          "[channel]") {
    Pair p;
    // Alice acted on the introduction before: that session probed Bob, who could not answer.
    auto earlier = p.alice_again();
    const auto old_probe = probe_from(earlier, Probe{kToken, 1});
    // The current session: Alice probes, Bob acks; Bob probes, Alice acks: both confirmed.
    handshake(p);
    REQUIRE(give_probe(p.alice, probe_from(p.bob, Probe{kToken, 1})) == Drop::none);
    REQUIRE(give_probe(p.bob, probe_from(p.alice, ProbeAck{kToken, 1, kBobPublic})) == Drop::none);
    REQUIRE(p.bob.confirmed());

    // The old probe, replayed: it opens (same introduction key) but may not move Bob's peer nonce.
    CHECK(give_probe(p.bob, old_probe) == Drop::stale);
    // The earlier session's data (it learned Bob's nonce from a probe) is under other keys.
    REQUIRE(give_probe(earlier, probe_from(p.bob, Probe{kToken, 3})) == Drop::none);
    REQUIRE(earlier.data_ready());
    CHECK(give_data(p.bob, data_from(earlier, kEnet)) == Drop::unauthenticated);
    // The current session still works.
    Bytes got;
    CHECK(give_data(p.bob, data_from(p.alice, kEnet), &got) == Drop::none);
    CHECK(got == kEnet);
}

TEST_CASE("a third party with its own key pair cannot make anything that opens", "[channel]") {
    Pair p;
    handshake(p);
    // Mallory knows the token, both names and both public keys (they travel to each peer), and
    // claims to be Alice with her own key pair.
    const auto mallory_keys = crypto::generate_key_pair();
    PeerChannel mallory;
    REQUIRE(mallory.begin(mallory_keys, "alice", p.to_alice));
    CHECK(give_probe(p.bob, probe_from(mallory, Probe{kToken, 1})) == Drop::unauthenticated);
    CHECK(give_probe(p.bob, probe_from(mallory, ProbeAck{kToken, 1, kBobPublic})) ==
          Drop::unauthenticated);
    CHECK(give_probe(p.alice, probe_from(mallory, ProbeAck{kToken, 1, kAlicePublic})) ==
          Drop::unauthenticated);
    // Bob's probes do not open for Mallory, so she never learns a nonce to make data keys from.
    std::array<std::uint8_t, kMaxDatagramSize> scratch{};
    Message m;
    CHECK(mallory.open_probe(envelope_of(probe_from(p.bob, Probe{kToken, 2})), scratch, m) ==
          Drop::unauthenticated);
    // Data she seals by hand under a key of her own, for Bob's channel, does not open.
    Bytes forged(kDataHead + kEnet.size() + kTagSize);
    REQUIRE(encode_data_head(p.bob.channel(), 7, forged) == kDataHead);
    crypto::SymmetricKey guess{};
    crypto::random_bytes(guess);
    REQUIRE(crypto::seal(guess, 0, 7, std::span(forged).first(kDataHead), kEnet,
                         std::span(forged).subspan(kDataHead)) > 0);
    CHECK(give_data(p.bob, forged) == Drop::unauthenticated);
    // None of it moved anything: Alice's datagram with that counter still opens.
    for (int i = 1; i < 7; ++i) data_from(p.alice, kEnet);
    const auto seventh = data_from(p.alice, kEnet);
    REQUIRE(envelope_of(seventh).counter == 7);
    CHECK(give_data(p.bob, seventh) == Drop::none);
}

TEST_CASE("tampering with a data head's channel or counter makes it not open", "[channel]") {
    Pair p;
    handshake(p);
    const auto good = data_from(p.alice, kEnet);
    for (std::size_t i = kHeaderSize; i < kDataHead; ++i) {
        auto bad = good;
        bad[i] ^= 0x10;  // (0x01 would make counter 1 into 0, which is never fresh)
        INFO("head byte " << i);
        CHECK(give_data(p.bob, bad) == Drop::unauthenticated);
    }
    for (std::size_t i = kDataHead; i < good.size(); ++i) {
        auto bad = good;
        bad[i] ^= 0x80;
        CHECK(give_data(p.bob, bad) == Drop::unauthenticated);
    }
    CHECK(give_data(p.bob, good) == Drop::none);
}

TEST_CASE("data counters never repeat under a key, even when the peer's nonce flips back",
          "[channel]") {
    // Before a session is confirmed, a replayed probe from an earlier session may set the peer's
    // nonce, and the current one set it back: the data keys are then the same as before, so the
    // counter must not start over.
    Pair p;
    auto earlier = p.alice_again();
    const auto old_probe = probe_from(earlier, Probe{kToken, 1});
    const auto probe = probe_from(p.alice, Probe{kToken, 1});
    REQUIRE(give_probe(p.bob, probe) == Drop::none);
    std::vector<std::uint64_t> used;
    for (int i = 0; i < 3; ++i) used.push_back(envelope_of(data_from(p.bob, kEnet)).counter);
    REQUIRE(give_probe(p.bob, old_probe) == Drop::none);  // not confirmed yet: it may
    REQUIRE(give_probe(p.bob, probe) == Drop::none);      // and back
    REQUIRE(give_probe(p.alice, probe_from(p.bob, Probe{kToken, 2})) == Drop::none);
    const auto again = data_from(p.bob, kEnet);
    CHECK(std::find(used.begin(), used.end(), envelope_of(again).counter) == used.end());
    CHECK(give_data(p.alice, again) == Drop::none);
}

TEST_CASE("a channel that ended, or never began, opens nothing", "[channel]") {
    Pair p;
    const auto probe = probe_from(p.alice, Probe{kToken, 1});
    p.bob.end();
    CHECK(give_probe(p.bob, probe) == Drop::unauthenticated);
    PeerChannel idle;
    CHECK(give_probe(idle, probe) == Drop::unauthenticated);
    Bytes b(kMaxDatagramSize);
    CHECK(idle.seal_probe(Probe{kToken, 1}, b) == 0);
    // A peer key X25519 refuses cannot begin a session.
    auto bad = p.to_bob;
    bad.peer_key = {};
    PeerChannel c;
    CHECK_FALSE(c.begin(p.bob_keys, "bob", bad));
    CHECK_FALSE(c.active());
}
