// Each defence of issue 10 (docs/SECURITY.md) shown by playing the attacker against real
// sessions on loopback: spoofed sources (a raw socket), a sniffer on the link (AF_PACKET), a
// stranger's ENet, floods. Where the attack is one that worked before the sessions were sealed,
// a control case runs it against a pair with Config::insecure_plaintext_enet and sees it work:
// so the sealed case passes because of the seal, not because the attack was never real.
// Needs root (raw and packet sockets): exits 77 (skipped) without it, as the NAT lab does.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "attacker.hpp"
#include "loopback.hpp"

using namespace netcore;
using namespace loopback;  // Lab, Node, bytes, connected, connect_pair
using namespace std::chrono_literals;

int main(int argc, char* argv[]) {
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing && geteuid() != 0) {
        std::fprintf(stderr, "netcore_attack_tests: needs root (raw sockets): skipped\n");
        return 77;
    }
    return Catch::Session().run(argc, argv);
}

namespace {

constexpr std::uint32_t kLoopback = 0x7F000001u;

Address address_of(const Node& n) {
    return Address{kLoopback, n.session->local_address().port};
}

Config plain(Config c, bool plaintext) {
    c.insecure_plaintext_enet = plaintext;
    return c;
}

}  // namespace

TEST_CASE("datagrams too large for ENet's buffer, flooding a player, do not starve its session",
          "[attack]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);

    // 300 datagrams of 5000 bytes (ENet reads at most 4096 and gives up on the rest of the
    // frame when one is truncated), 5 a frame, while alice sends one reliable line a frame.
    attacker::Udp flood;
    const std::vector<std::uint8_t> big(5000, 0xEE);
    int floods = 0;
    int lines = 0;
    lab.each_step.push_back([&] {
        for (int i = 0; i < 5 && floods < 300; ++i, ++floods) flood.send(address_of(bob), big);
        if (lines < 60)
            REQUIRE(alice.session->send(Channel::reliable, bytes(std::to_string(lines++))));
    });
    REQUIRE(lab.run_until([&] { return floods == 300 && bob.received().size() == 60; }, 10000ms));
    CHECK(connected(alice));
    CHECK(connected(bob));
    CHECK(bob.count(EventType::disconnected) == 0);
    CHECK(bob.received().back() == "59");
}

TEST_CASE("a stranger's ENet handshakes never reach ENet, and the introduced peer still connects",
          "[attack]") {
    const bool plaintext = GENERATE(false, true);
    INFO((plaintext ? "control: plaintext ENet" : "sealed"));
    Lab lab;
    Node& alice = lab.add(plain(lab.config("alice"), plaintext));
    Node& bob = lab.add(plain(lab.config("bob"), plaintext));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));

    // A real ENet host asks for two connections to bob's socket before anyone was introduced.
    ENetHost* stranger = enet_host_create(nullptr, 2, 2, 0, 0);
    REQUIRE(stranger != nullptr);
    ENetAddress to{};
    to.host = ENET_HOST_TO_NET_32(kLoopback);
    to.port = bob.session->local_address().port;
    REQUIRE(enet_host_connect(stranger, &to, 2, 0) != nullptr);
    REQUIRE(enet_host_connect(stranger, &to, 2, 0) != nullptr);
    int stranger_connects = 0;
    lab.each_step.push_back([&] {
        ENetEvent e;
        while (enet_host_service(stranger, &e, 0) > 0)
            stranger_connects += e.type == ENET_EVENT_TYPE_CONNECT;
    });
    if (plaintext) {
        // Unsealed, ENet parses the stranger's CONNECT and completes its handshake.
        REQUIRE(lab.run_until([&] { return stranger_connects > 0; }));
    } else {
        REQUIRE(lab.run_until([&] { return bob.session->stats().unauthenticated >= 2; }));
        lab.run_for(300ms);  // ENet re-sends its CONNECTs: still nothing
        CHECK(stranger_connects == 0);
        connect_pair(lab, alice, bob);
        CHECK(bob.last(EventType::connected)->peer == "alice");
    }
    lab.each_step.clear();
    enet_host_destroy(stranger);
}

TEST_CASE("a host at the peer's LAN address that reflects its probes never becomes the peer",
          "[attack]") {
    // Alice reports a LAN candidate where an impostor listens (a host that happens to hold that
    // address on bob's network). The best it can do without the keys: send back what it gets.
    attacker::Udp impostor;
    Lab lab;
    Config ac = lab.config("alice");
    ac.lan_addresses = {impostor.address()};
    Node& alice = lab.add(ac);
    // Bob asks for alice too: a side that asked probes the LAN candidates from the start (an
    // open host waits until it heard the peer, and on loopback the pair connects before that).
    Config bc = lab.config("bob");
    bc.consent = Consent::mutual;
    Node& bob = lab.add(bc);
    int reflected = 0;
    lab.each_step.push_back([&] {
        while (auto d = impostor.receive()) {
            impostor.send(d->second, d->first);
            ++reflected;
        }
    });
    connect_pair(lab, alice, bob);
    REQUIRE(lab.run_until([&] { return reflected > 0; }));
    CHECK(bob.last(EventType::connected)->address == address_of(alice));
    CHECK(bob.session->peer_address() == address_of(alice));
    CHECK(bob.session->stats().unauthenticated > 0);  // the reflections, dropped unopened
}

TEST_CASE("datagrams forged in the server's name change nothing at a client", "[attack]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    const auto before = bob.session->stats();

    std::vector<std::vector<std::uint8_t>> forged;
    // A sealed "Introduction" under a key the forger made up.
    std::vector<std::uint8_t> sealed(protocol::kServerSealedHead + 120, 0x5A);
    REQUIRE(protocol::encode_server_sealed_head(std::uint64_t{1} << 62, sealed) > 0);  // fresh
    forged.push_back(sealed);
    // A Challenge that names another server key (and so another salt and cookie).
    std::vector<std::uint8_t> challenge(protocol::kChallengeSize);
    REQUIRE(protocol::encode_challenge(PublicKey{1, 2, 3}, {}, {}, challenge) > 0);
    forged.push_back(challenge);
    // A version-1 Introduction in clear, as the old server sent them.
    forged.push_back({'N', 'C', 'R', 'V', 1,   0x06, 1,  2, 3, 4, 5,    6,    7, 8, 1,
                      5,   'e', 'v', 'i', 'l', '!',  10, 0, 0, 1, 0x13, 0x88, 0, 0});
    // "The server speaks another version": only a registering client may take that in.
    std::vector<std::uint8_t> refusal(protocol::kVersionRefusedSize);
    REQUIRE(protocol::encode_version_refused(refusal) > 0);
    forged.push_back(refusal);
    for (const auto& f : forged) REQUIRE(attacker::spoof(lab.server_address(), address_of(bob), f));

    REQUIRE(lab.run_until(
        [&] { return bob.session->stats().datagrams_dropped >= before.datagrams_dropped + 3; }));
    lab.run_for(200ms);
    CHECK(bob.count(EventType::introduced) == 0);
    CHECK(bob.count(EventType::error) == 0);
    CHECK(bob.session->state() == State::registered);
    CHECK(bob.session->stats().unauthenticated >= before.unauthenticated + 2);
    connect_pair(lab, alice, bob);  // and bob's registration still works
}

TEST_CASE("an ENet goodbye forged from the peer's address does not end a sealed session",
          "[attack]") {
    const bool plaintext = GENERATE(false, true);
    INFO((plaintext ? "control: plaintext ENet" : "sealed"));
    Lab lab;
    Node& alice = lab.add(plain(lab.config("alice"), plaintext));
    Node& bob = lab.add(plain(lab.config("bob"), plaintext));
    connect_pair(lab, alice, bob);
    const auto before = bob.session->stats().unauthenticated;

    // One DISCONNECT for each of bob's two peer slots and four session ids: one matches.
    const auto forged = attacker::forged_disconnects(2);
    for (const auto& d : forged) REQUIRE(attacker::spoof(address_of(alice), address_of(bob), d));
    if (plaintext) {
        REQUIRE(lab.run_until([&] { return bob.count(EventType::disconnected) == 1; }));
        return;  // the attack is real
    }
    REQUIRE(lab.run_until(
        [&] { return bob.session->stats().unauthenticated >= before + forged.size(); }));
    REQUIRE(alice.session->send(Channel::reliable, bytes("still here")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
    CHECK(bob.count(EventType::disconnected) == 0);
    CHECK(connected(bob));
}

TEST_CASE("a sniffer on the link reads no game message, and its replays are dropped", "[attack]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    attacker::Sniffer sniffer(alice.session->local_address().port,
                              bob.session->local_address().port);
    lab.each_step.push_back([&] { sniffer.poll(); });
    connect_pair(lab, alice, bob);

    const std::string secret = "the treasure is under the old oak";
    REQUIRE(alice.session->send(Channel::reliable, bytes(secret)));
    REQUIRE(bob.session->send(Channel::unreliable, bytes(secret + ", says bob")));
    REQUIRE(
        lab.run_until([&] { return bob.received().size() == 1 && alice.received().size() == 1; }));
    lab.run_for(50ms);
    sniffer.poll();

    // Everything that passed between the two sockets: the probes and ENet's datagrams.
    REQUIRE(sniffer.captured.size() > 4);
    std::size_t from_alice = 0;
    for (const auto& c : sniffer.captured) {
        CHECK_FALSE(attacker::contains(c.bytes, "treasure"));
        CHECK_FALSE(attacker::contains(c.bytes, "alice"));  // nor the names
        CHECK_FALSE(attacker::contains(c.bytes, "bob"));
        CHECK(protocol::has_magic(c.bytes));  // every one an envelope of ours
        from_alice += c.from == alice.session->local_address().port;
    }
    REQUIRE(from_alice > 0);

    // Replayed from alice's address, every datagram alice sent is refused (the probes as stale
    // or for a finished handshake, ENet's by the replay window): bob gets the line once.
    const auto replays = sniffer.captured;
    const auto dropped = bob.session->stats().datagrams_dropped;
    for (const auto& c : replays)
        if (c.from == alice.session->local_address().port)
            REQUIRE(attacker::spoof(address_of(alice), address_of(bob), c.bytes));
    REQUIRE(lab.run_until(
        [&] { return bob.session->stats().datagrams_dropped >= dropped + from_alice; }));
    lab.run_for(100ms);
    CHECK(bob.received() == std::vector<std::string>{secret});
    CHECK(connected(bob));
}

// The initiator's first probe carries its ENet CONNECT (PROTOCOL.md §6 step 4). The same
// introduction (token and keys) is handed out again for a while, so a sniffer could replay the
// first probe of an earlier session to the responder of a new one before the initiator's own
// arrives. The responder takes it (it opens: same keys) and ENet makes a half-open peer of it;
// that peer must give way to the CONNECT of the initiator's current nonce, or the replay would
// hold the responder's one handshake and the real initiator could never connect.
TEST_CASE("a first probe replayed from an earlier session does not hold the responder's handshake",
          "[attack]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));  // open host: alice asks, alice is the initiator
    attacker::Sniffer sniffer(alice.session->local_address().port,
                              bob.session->local_address().port);
    lab.each_step.push_back([&] { sniffer.poll(); });
    connect_pair(lab, alice, bob);
    sniffer.poll();
    // Alice's first probe that carried a CONNECT: longer than a bare probe (95 bytes).
    std::vector<std::uint8_t> first;
    for (const auto& c : sniffer.captured)
        if (c.from == alice.session->local_address().port && c.bytes.size() > 6 &&
            c.bytes[5] == static_cast<std::uint8_t>(protocol::EnvelopeType::peer_probe) &&
            c.bytes.size() > 95) {
            first = c.bytes;
            break;
        }
    REQUIRE_FALSE(first.empty());

    alice.session->disconnect();
    REQUIRE(lab.run_until([&] {
        return alice.count(EventType::disconnected) == 1 && bob.count(EventType::disconnected) == 1;
    }));
    // Alice asks again (the server hands out the same introduction) and is held back until the
    // replay reached bob's new connection and ENet made its half-open peer of it.
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    lab.step();
    alice.frozen = true;
    REQUIRE(lab.run_until([&] { return bob.count(EventType::introduced) == 2; }));
    const auto taken = bob.session->stats().probes_received;
    REQUIRE(attacker::spoof(address_of(alice), address_of(bob), first));
    REQUIRE(lab.run_until([&] { return bob.session->stats().probes_received > taken; }));
    alice.frozen = false;
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    CHECK(alice.count(EventType::connected) == 2);
    CHECK(bob.count(EventType::connected) == 2);
    REQUIRE(alice.session->send(Channel::reliable, bytes("again")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
    CHECK(bob.received()[0] == "again");
}
