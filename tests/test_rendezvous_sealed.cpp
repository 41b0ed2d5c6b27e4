// The sealed channel's defences at the server, each played by an attacker (PROTOCOL.md §9,
// §11.2): forgers, replays, an on-path observer, an old client, and a reflector. Every case
// names the line of rendezvous/src/server.cpp it guards: with that line gone, the case fails.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>

#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

const Address kMallory{0xC0000201u, 4444};       // 192.0.2.1:4444
const Address kAliceRebound{0xCB007107u, 5999};  // Alice's router after a NAT rebinding
constexpr std::uint64_t kMalloryRun = 0x3A11;

AddressList lan(std::initializer_list<Address> items) {
    AddressList l;
    for (const auto a : items) l.push(a);
    return l;
}

// What Bob is told about `name`: its address, LAN list and key, or PeerUnknown.
OwnedIntroduction bob_learns(Harness& h, std::string_view name) {
    const auto sent = h.send(kBob, IntroduceRequest{kBobRun, name});
    REQUIRE(sent.size() == 2);
    return OwnedIntroduction(sent[0].as<Introduction>());
}

// True when `needle` occurs in `haystack`.
bool contains(const std::vector<std::uint8_t>& haystack, std::span<const std::uint8_t> needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

// An address as the wire writes it: IP then port, big-endian.
std::array<std::uint8_t, 6> wire_bytes(Address a) {
    return {static_cast<std::uint8_t>(a.ip >> 24),  static_cast<std::uint8_t>(a.ip >> 16),
            static_cast<std::uint8_t>(a.ip >> 8),   static_cast<std::uint8_t>(a.ip),
            static_cast<std::uint8_t>(a.port >> 8), static_cast<std::uint8_t>(a.port)};
}

}  // namespace

// ---- forgers -----------------------------------------------------------------------------------

TEST_CASE(
    "a signal sealed under another key than its head's client key is dropped unanswered, and the "
    "name is unchanged",
    "[unit][sealed]") {
    // Guards server.cpp on_sealed: `if (n < 0) { ++counters_.unauthenticated; ... return; }`
    // after the X25519 open (and the fast path's open before it, which must fail too).
    Harness h;
    const auto alice_lan = lan({{0xC0A80002u, 5000}});
    h.registered(kAlice, kAliceRun, "alice", alice_lan);
    h.registered(kBob, kBobRun, "bob");
    const auto before = bob_learns(h, "alice");

    // Mallory knows Alice's public key (every peer of hers learns it) and her instance (say), but
    // not her secret: she seals under a key of her own, with Alice's key in the head.
    const auto& alice_key = h.channel(kAliceRun).key_pair().public_key;
    const auto mallory_challenge = h.hello(kMallory, kMalloryRun).challenge();
    const auto mallory_key = h.signal_key(kMalloryRun, mallory_challenge.salt);
    // A cookie for her own address (a Hello carrying Alice's key gets one: cookies are per
    // address), and Alice's own cookie for Alice's address, read off the path.
    std::vector<std::uint8_t> hello(kHelloSize);
    REQUIRE(encode_hello(alice_key, hello) == kHelloSize);
    const auto mallory_cookie = h.raw(kMallory, hello).at(0).challenge().cookie;
    const auto alice_cookie = h.hello(kAlice, kCarolRun).challenge().cookie;  // same address
    h.opens_at(kAlice, kAliceRun);

    const auto evil_lan = lan({{0x0A0A0A0Au, 1}});
    const std::vector<std::pair<Address, std::vector<std::uint8_t>>> forgeries = {
        // Move the name to Mallory, from Mallory's address.
        {kMallory, hand_sealed(mallory_key, alice_key, mallory_cookie, 1000,
                               inner_bytes(RegisterRequest{kAliceRun, "alice", {}}))},
        // A refresh with Mallory's LAN list, spoofed from Alice's address.
        {kAlice, hand_sealed(mallory_key, alice_key, alice_cookie, 1001,
                             inner_bytes(RegisterRequest{kAliceRun, "alice", evil_lan}))},
        // Drop the name, spoofed from Alice's address.
        {kAlice, hand_sealed(mallory_key, alice_key, alice_cookie, 1002,
                             inner_bytes(Unregister{kAliceRun}))},
        // Ask for an introduction in Alice's name.
        {kAlice, hand_sealed(mallory_key, alice_key, alice_cookie, 1003,
                             inner_bytes(IntroduceRequest{kAliceRun, "bob"}))},
    };
    const auto c0 = h.server.counters();
    for (const auto& [from, bytes] : forgeries) {
        INFO(from.to_string());
        CHECK(h.raw(from, bytes).empty());  // never answered, to anyone
    }
    const auto c = h.server.counters();
    CHECK(c.unauthenticated - c0.unauthenticated == forgeries.size());
    CHECK(c.registered == c0.registered);
    CHECK(c.refreshed == c0.refreshed);
    CHECK(c.unregistered == 0);
    CHECK(c.introduced == c0.introduced);
    CHECK(c.reintroduced == c0.reintroduced);
    // Alice's entry is as it was: address, LAN list, key.
    CHECK(bob_learns(h, "alice") == before);
    CHECK(before.peer_key == alice_key);
}

TEST_CASE("a captured signal with a cookie swapped into its head does not open", "[unit][sealed]") {
    // Guards server.cpp on_sealed: the open under envelope.ad, the head (cookie included), and
    // its `if (n < 0)` drop: the cookie is authenticated with the box.
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    auto captured = h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}});
    // Mallory proves her own address and puts her cookie where Alice's was.
    const auto cookie = h.hello(kMallory, kMalloryRun).challenge().cookie;
    std::copy(cookie.begin(), cookie.end(), captured.begin() + kHeaderSize + netcore::kKeySize);
    CHECK(h.raw(kMallory, captured).empty());
    CHECK(h.server.counters().unauthenticated == 1);
    CHECK(h.server.counters().registered == 1);
    CHECK(h.server.counters().names == 1);
}

// ---- replays -----------------------------------------------------------------------------------

TEST_CASE("a signal replayed from its own address is dropped unanswered and counted",
          "[unit][sealed]") {
    // Guards server.cpp on_sealed: `if (n >= 0 && envelope.counter <= held->received)`.
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto reg = h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}});
    REQUIRE(h.raw(kAlice, reg).size() == 1);
    const auto intro = h.sealed(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(h.raw(kAlice, intro).size() == 2);
    const auto c0 = h.server.counters();

    CHECK(h.raw(kAlice, intro).empty());  // the very bytes again
    CHECK(h.raw(kAlice, reg).empty());    // an older one, after a newer
    h.advance(milliseconds(5000));
    CHECK(h.raw(kAlice, intro).empty());  // later: still a replay
    const auto c = h.server.counters();
    CHECK(c.replayed == 3);
    CHECK(c.refreshed == c0.refreshed);
    CHECK(c.reintroduced == c0.reintroduced);
    CHECK(c.unauthenticated == 0);
    // And the client's own next signal is served.
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}).size() == 2);
}

TEST_CASE("a Register captured and replayed from another address gets a Challenge, not the name",
          "[unit][sealed]") {
    // Guards server.cpp on_sealed: `if (!cookies_.valid(envelope.cookie, from, now))` -> challenge.
    Harness h;
    const auto captured =
        h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}, RegisterFlags::open});
    REQUIRE(h.raw(kAlice, captured).at(0).as<RegisterAck>().observed == kAlice);
    h.registered(kBob, kBobRun, "bob");

    // An on-path attacker sends Alice's Register from its own address, to move her name there.
    const auto sent = h.raw(kMallory, captured);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kMallory);
    CHECK(sent[0].is_challenge());
    CHECK(sent[0].bytes.size() <= captured.size());
    CHECK(h.server.counters().bad_cookies == 1);
    CHECK(h.server.counters().registered == 2);  // alice and bob, nothing moved
    CHECK(bob_learns(h, "alice").peer_public == kAlice);
}

TEST_CASE("a Register replayed from the address its name left does not move the name back",
          "[unit][sealed]") {
    // Guards server.cpp on_register: the check that a Register under the key of its name's entry
    // is newer than the last signal that entry sealed (the fast path's check only covers a
    // signal from the entry's own address).
    Harness h;
    const auto captured = h.sealed(kAlice, RegisterRequest{kAliceRun, "alice", {}});
    REQUIRE(h.raw(kAlice, captured).at(0).as<RegisterAck>().observed == kAlice);
    h.registered(kBob, kBobRun, "bob");
    h.advance(milliseconds(5000));
    h.registered(kAliceRebound, kAliceRun, "alice");  // a NAT rebinding: the name follows

    // Her old Register, replayed from her old address while its cookie is still valid.
    CHECK(h.raw(kAlice, captured).empty());
    CHECK(h.server.counters().replayed == 1);
    CHECK(bob_learns(h, "alice").peer_public == kAliceRebound);
}

// ---- what an observer on the path sees --------------------------------------------------------

TEST_CASE("the server's answers to an IntroduceRequest show no name or address in clear",
          "[unit][sealed]") {
    // Guards server.cpp reply(): every Message leaves sealed under its recipient's signal key.
    Harness h;
    const std::string alice = "alice.the.initiator";
    const std::string bob = "bob.the.responder";
    const Address alice_lan{0xC0A80002u, 5000};
    const Address bob_lan{0xC0A80105u, 6000};
    h.registered(kAlice, kAliceRun, alice, lan({alice_lan}));
    h.registered(kBob, kBobRun, bob, lan({bob_lan}));
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, bob});
    REQUIRE(sent.size() == 2);
    const auto unknown = h.send(kAlice, IntroduceRequest{kAliceRun, "carol.the.stranger"});
    REQUIRE(unknown.size() == 1);

    std::vector<std::uint8_t> wire;  // everything the server sent, as an observer sees it
    for (const auto& s : sent) wire.insert(wire.end(), s.bytes.begin(), s.bytes.end());
    wire.insert(wire.end(), unknown[0].bytes.begin(), unknown[0].bytes.end());
    const auto text = [](std::string_view s) {
        return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    };
    for (const std::string_view name :
         {std::string_view(alice), std::string_view(bob), std::string_view("carol.the.stranger")}) {
        INFO(name);
        CHECK_FALSE(contains(wire, text(name)));
    }
    for (const Address a : {kAlice, kBob, alice_lan, bob_lan}) {
        INFO(a.to_string());
        CHECK_FALSE(contains(wire, wire_bytes(a)));
    }
    // While the victims' channels open them, and nobody else's does.
    CHECK(sent[0].as<Introduction>().peer == bob);
    CHECK(sent[0].as<Introduction>().peer_public == kBob);
    CHECK(sent[1].as<Introduction>().peer == alice);
    CHECK(unknown[0].as<PeerUnknown>().peer == "carol.the.stranger");
    SignalChannel& mallory = h.channel(kMalloryRun);
    h.hello(kMallory, kMalloryRun);
    for (const auto& s : sent) {
        Envelope e;
        REQUIRE(decode_envelope(s.bytes, e) == DecodeError::ok);
        std::array<std::uint8_t, kMaxDatagramSize> scratch{};
        Message m;
        CHECK(mallory.open(e, scratch, m) == SignalChannel::OpenError::unauthenticated);
    }
}

TEST_CASE("an Introduction carries each side the other's key, the one its channel registered",
          "[unit][sealed]") {
    // Guards server.cpp send_introduction(): `about.keys.client_key` in the Introduction.
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 2);
    const auto& alice_key = h.channel(kAliceRun).key_pair().public_key;
    const auto& bob_key = h.channel(kBobRun).key_pair().public_key;
    REQUIRE(alice_key != bob_key);
    CHECK(sent[0].as<Introduction>().peer_key == bob_key);
    CHECK(sent[1].as<Introduction>().peer_key == alice_key);
    // A new run of Bob (a new key) is what Alice is told about next.
    h.advance(h.server.config().intro_ttl);
    h.registered(kBob, kBobRun + 1, "bob");
    const auto again = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(again.size() == 2);
    CHECK(again[0].as<Introduction>().peer_key == h.channel(kBobRun + 1).key_pair().public_key);
}

// ---- older clients -----------------------------------------------------------------------------

TEST_CASE("a version-1 Register gets exactly an 8-byte VersionRefused and stores nothing",
          "[unit][sealed]") {
    // Guards server.cpp handle(): the `wire_version(datagram) < kVersion` branch and its refusal.
    Harness h;
    // Version 1's Register (PROTOCOL.md before issue 10): header, instance, cookie, name, LANs.
    std::vector<std::uint8_t> v1 = {'N', 'C', 'R', 'V', 1, 1};
    for (int i = 0; i < 8; ++i) v1.push_back(static_cast<std::uint8_t>(kAliceRun >> (56 - 8 * i)));
    v1.insert(v1.end(), kCookieSize, 0);
    v1.push_back(5);
    for (const char ch : std::string_view("alice")) v1.push_back(static_cast<std::uint8_t>(ch));
    v1.push_back(0);  // no LAN addresses
    const auto sent = h.raw(kAlice, v1);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);
    CHECK(sent[0].bytes == std::vector<std::uint8_t>{'N', 'C', 'R', 'V', 5, 0x3F, 5, 5});
    Envelope e;
    REQUIRE(decode_envelope(sent[0].bytes, e) == DecodeError::ok);
    CHECK(e.type == EnvelopeType::version_refused);
    CHECK(e.min_version == 5);
    CHECK(e.max_version == 5);
    const auto c = h.server.counters();
    CHECK(c.version_refused == 1);
    CHECK(c.names == 0);
    CHECK(c.amplification_refused == 0);
}

TEST_CASE("a version-1 header shorter than the refusal is dropped, not answered",
          "[unit][sealed]") {
    // Guards server.cpp handle(): the refusal only for a datagram at least its size; a bare
    // 6-byte header would otherwise be worth 8 bytes to a spoofed source (refused late, as an
    // amplification, and logged as a bug).
    Harness h;
    const std::vector<std::uint8_t> header = {'N', 'C', 'R', 'V', 1, 1};
    CHECK(h.raw(kAlice, header).empty());
    const auto c = h.server.counters();
    CHECK(c.dropped_by(DecodeError::bad_version) == 1);
    CHECK(c.amplification_refused == 0);
}

// ---- reflection --------------------------------------------------------------------------------

TEST_CASE("a Hello is answered with a Challenge of its own size, and a short one not at all",
          "[unit][sealed]") {
    // Guards kHelloSize == kChallengeSize (protocol.hpp) and decode_envelope()'s Hello padding:
    // the server never answers a source nobody proved with more than it sent.
    Harness h;
    const auto hello = hello_bytes(h.channel(kMalloryRun));
    const auto sent = h.raw(kMallory, hello);
    REQUIRE(sent.size() == 1);
    CHECK(hello.size() == 70);
    CHECK(sent[0].bytes.size() == 70);
    CHECK(sent[0].challenge().server_key == h.server.public_key());
    const std::vector<std::uint8_t> short_hello(hello.begin(), hello.begin() + kHeaderSize + 32);
    CHECK(h.raw(kMallory, short_hello).empty());
    CHECK(h.server.counters().amplification_refused == 0);
}

TEST_CASE("a sealed datagram with a bad cookie from an unproven source gets at most its size back",
          "[unit][sealed]") {
    // Guards server.cpp challenge(): the only answer to an unproven sealed datagram is a 70-byte
    // Challenge, and the smallest sealed datagram (head and tag, no plaintext) is 78.
    Harness h;
    h.registered(kBob, kBobRun, "bob");
    const auto salt = h.hello(kMallory, kMalloryRun).challenge().salt;
    const auto key = h.signal_key(kMalloryRun, salt);
    const auto& mallory_key = h.channel(kMalloryRun).key_pair().public_key;
    const Cookie forged{0xBA, 0xD0};
    for (const auto& plaintext :
         {std::vector<std::uint8_t>{}, inner_bytes(IntroduceRequest{kMalloryRun, "bob"}),
          inner_bytes(Unregister{kBobRun})}) {
        for (const Cookie& cookie : {Cookie{}, forged}) {
            const auto request = hand_sealed(key, mallory_key, cookie, 7, plaintext);
            const Address spoofed{0xC0000202u, 53};  // a victim's address, never proved
            const auto sent = h.raw(spoofed, request);
            REQUIRE(sent.size() == 1);
            CHECK(sent[0].to == spoofed);
            CHECK(sent[0].bytes.size() <= request.size());
        }
    }
    CHECK(h.server.counters().amplification_refused == 0);
    CHECK(h.server.counters().introduced == 0);
}

TEST_CASE(
    "a new run's Register on an earlier Challenge's cookie registers at once from that "
    "address, and is challenged from any other",
    "[unit][sealed]") {
    // The resumption ticket (PROTOCOL.md §6 step 1, §9): no Hello, a fresh key, counter 1. Guards
    // server.cpp on_sealed: `if (!cookies_.valid(envelope.cookie, from, now))` -> challenge.
    Harness h;
    const auto challenge = h.hello(kAlice, 1).challenge();  // the first run's Challenge
    constexpr std::uint64_t kNextRun = 2;
    REQUIRE(h.channel(kNextRun).resume(challenge.server_key, challenge.salt, challenge.cookie));
    const auto reg =
        h.sealed(kAlice, kNextRun, RegisterRequest{kNextRun, "alice", {}, RegisterFlags::open});
    Envelope head;
    REQUIRE(decode_envelope(reg, head) == DecodeError::ok);
    CHECK(head.counter == 1);  // a new key's counters start at 1 (§11.2)

    // Stolen on the path and sent from another address first: a Challenge, nothing stored.
    const auto stolen = h.raw(kMallory, reg);
    REQUIRE(stolen.size() == 1);
    CHECK(stolen[0].is_challenge());
    CHECK(stolen[0].bytes.size() <= reg.size());
    CHECK(h.server.counters().bad_cookies == 1);
    CHECK(h.server.counters().registered == 0);
    CHECK(h.server.counters().names == 0);

    // From the cookie's own address: one datagram, one RegisterAck, no Challenge.
    const auto challenged = h.server.counters().challenged;
    const auto sent = h.raw(kAlice, reg);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].as<RegisterAck>().observed == kAlice);
    CHECK(h.server.counters().challenged == challenged);
    CHECK(h.server.counters().registered == 1);

    // Replayed from another address once registered: still a Challenge, the name stays.
    const auto replayed = h.raw(kMallory, reg);
    REQUIRE(replayed.size() == 1);
    CHECK(replayed[0].is_challenge());
    CHECK(h.server.counters().registered == 1);
    h.registered(kBob, kBobRun, "bob");
    CHECK(bob_learns(h, "alice").peer_public == kAlice);
}
