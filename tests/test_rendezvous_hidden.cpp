// Relay-only introductions at the rendezvous (PROTOCOL.md §4.14): when either side of a pair
// registered with RegisterFlags::hidden, neither Introduction carries the other's addresses and
// the PeerRelay between them carries no mapped address, whatever the offer said.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <string>

#include "rendezvous_test_support.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;

namespace {

const Address kAliceLan{0xC0A80107u, 5000};  // 192.168.1.7:5000
const Address kBobLan{0x0A000009u, 6000};    // 10.0.0.9:6000

// One TURN server granted (kTurn1).
Config with_one_turn() {
    Config c = with_turn();
    c.turn.servers = {kTurn1};
    return c;
}

void register_as(Harness& h, Address at, std::uint64_t run, std::string_view name, Address lan,
                 std::uint8_t flags) {
    AddressList list;
    list.push(lan);
    // Open hosts both, so the pair is introduced whatever consent asks.
    const auto sent =
        h.send(at, RegisterRequest{run, name, list, std::uint8_t(flags | RegisterFlags::open)});
    REQUIRE(sent.size() == 1);
    REQUIRE(sent[0].to == at);
    (void)sent[0].as<RegisterAck>();
}

// True when the four bytes of `ip` (network order, as the wire has them) are in `bytes`.
bool holds_ip(const std::vector<std::uint8_t>& bytes, std::uint32_t ip) {
    const std::array<std::uint8_t, 4> b = {
        static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
        static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)};
    return std::search(bytes.begin(), bytes.end(), b.begin(), b.end()) != bytes.end();
}

}  // namespace

TEST_CASE(
    "a pair where one side hides gets relay-only Introductions and PeerRelays with no "
    "address but the relayed one, both ways",
    "[unit][relay][hidden]") {
    // Who hides: alice (the requester), bob (the one asked for), or nobody (the control: then
    // every address goes through as before, so the checks below can fail).
    const int hider = GENERATE(0, 1, 2);
    INFO((hider == 0 ? "alice hides" : hider == 1 ? "bob hides" : "control: nobody hides"));
    const bool hidden = hider != 2;
    Harness h(with_one_turn());
    register_as(h, kAlice, kAliceRun, "alice", kAliceLan, hider == 0 ? RegisterFlags::hidden : 0);
    register_as(h, kBob, kBobRun, "bob", kBobLan, hider == 1 ? RegisterFlags::hidden : 0);

    const auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 2);
    REQUIRE(sent[0].to == kAlice);
    REQUIRE(sent[1].to == kBob);
    const auto to_alice = sent[0].as<Introduction>();
    const auto to_bob = sent[1].as<Introduction>();
    for (const auto* m : {&to_alice, &to_bob}) {
        CHECK(m->relay.count == 1);  // the relay is granted as always: it is the only path
        CHECK(m->token == to_alice.token);
        CHECK(((m->flags & IntroductionFlags::relay_only) != 0) == hidden);
    }
    if (hidden) {
        CHECK(to_alice.peer_public == Address{});
        CHECK(to_alice.peer_lan.count == 0);
        CHECK(to_bob.peer_public == Address{});
        CHECK(to_bob.peer_lan.count == 0);
    } else {
        CHECK(to_alice.peer_public == kBob);
        CHECK(to_alice.peer_lan.count == 1);
        CHECK(to_bob.peer_public == kAlice);
    }
    // Nowhere in the plaintext either side receives: neither the peer's public IP nor its LAN IP.
    CHECK(holds_ip(sent[0].plain, kBob.ip) == !hidden);
    CHECK(holds_ip(sent[0].plain, kBobLan.ip) == !hidden);
    CHECK(holds_ip(sent[1].plain, kAlice.ip) == !hidden);
    CHECK(holds_ip(sent[1].plain, kAliceLan.ip) == !hidden);

    // Offers that (wrongly, or from an old client) name the sender's mapped address: the server
    // drops it for a hidden pair, each way; the relayed address goes through.
    const RelayOffer from_alice{kAliceRun, to_alice.token, "bob", Address{kTurn1.ip, 49152},
                                kAlice};
    const RelayOffer from_bob{kBobRun, to_alice.token, "alice", Address{kTurn1.ip, 49153}, kBob};
    const auto to_b = h.send(kAlice, from_alice);
    const auto to_a = h.send(kBob, from_bob);
    REQUIRE(to_b.size() == 1);
    REQUIRE(to_a.size() == 1);
    CHECK(to_b[0].to == kBob);
    CHECK(to_a[0].to == kAlice);
    const auto relay_to_bob = to_b[0].as<PeerRelay>();
    const auto relay_to_alice = to_a[0].as<PeerRelay>();
    CHECK(relay_to_bob.relayed == from_alice.relayed);
    CHECK(relay_to_alice.relayed == from_bob.relayed);
    CHECK(relay_to_bob.mapped == (hidden ? Address{} : kAlice));
    CHECK(relay_to_alice.mapped == (hidden ? Address{} : kBob));
    CHECK(holds_ip(to_b[0].plain, kAlice.ip) == !hidden);
    CHECK(holds_ip(to_a[0].plain, kBob.ip) == !hidden);
}

TEST_CASE("a hidden player's later Register without the flag makes its next introduction plain",
          "[unit][relay][hidden]") {
    // The flag is the last Register's: a player may stop hiding (the session is then plain).
    Harness h(with_one_turn());
    register_as(h, kAlice, kAliceRun, "alice", kAliceLan, RegisterFlags::hidden);
    register_as(h, kBob, kBobRun, "bob", kBobLan, 0);
    auto sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 2);
    CHECK((sent[1].as<Introduction>().flags & IntroductionFlags::relay_only) != 0);
    register_as(h, kAlice, kAliceRun, "alice", kAliceLan, 0);
    sent = h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
    REQUIRE(sent.size() == 2);
    CHECK(sent[1].as<Introduction>().flags == 0);
    CHECK(sent[1].as<Introduction>().peer_public == kAlice);
}
