// Standing relays at the rendezvous (PROTOCOL.md §4.11, token 0): a registered player holds TURN
// credentials scoped to its registration, offers the allocation it made with them, and the server
// hands that relayed address to each peer it introduces, as PeerRelay right after the
// Introduction, to the address that holds the name and nobody else.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "rendezvous_test_support.hpp"
#include "turn_credentials.hpp"

using namespace rendezvous;
using namespace rendezvous::testing;
using namespace netcore::protocol;
using netcore::Address;
using std::chrono::milliseconds;

namespace {

// Where the players' standing allocations are, and where their TURN server saw them.
const Address kAliceRelayed{kTurn1.ip, 49152};
const Address kAliceMapped{0xCB007107u, 61000};  // 203.0.113.7:61000
const Address kBobRelayed{kTurn1.ip, 49153};
const Address kBobMapped{0xC6336409u, 62000};  // 198.51.100.9:62000

// `run` at `at`, holding `name`, asks for its standing grant and then offers its allocation.
void stand(Harness& h, Address at, std::uint64_t run, std::string_view name, Address relayed,
           Address mapped) {
    const auto granted = h.send(at, RelayRenew{run, 0, name});
    REQUIRE(granted.size() == 1);
    REQUIRE(granted[0].to == at);
    REQUIRE(granted[0].as<RelayCredentials>().token == 0);
    REQUIRE(h.send(at, RelayOffer{run, 0, name, relayed, mapped}).empty());  // never answered
}

// Alice asks for Bob (both registered): what the server sends.
std::vector<Sent> alice_asks_for_bob(Harness& h) {
    return h.send(kAlice, IntroduceRequest{kAliceRun, "bob"});
}

}  // namespace

// ---- the standing grant -------------------------------------------------------------------------

TEST_CASE(
    "a registered player asking RelayRenew with token 0 and its own name gets TURN credentials "
    "for its name alone",
    "[unit][relay][standing]") {
    std::int64_t clock = kClock;
    Harness h(with_turn(&clock));
    h.registered(kAlice, kAliceRun, "alice");
    const auto request = h.sealed(kAlice, RelayRenew{kAliceRun, 0, "alice"});
    const auto sent = h.raw(kAlice, request);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to == kAlice);  // to the sender alone
    const auto grant = sent[0].as<RelayCredentials>();
    CHECK(grant.token == 0);
    CHECK(grant.relay.count == 2);
    CHECK(grant.relay.servers[0] == kTurn1);
    CHECK(grant.relay.servers[1] == kTurn2);
    // "<expiry>:<name>", no pair id: coturn's scheme, checked against openssl's answer.
    CHECK(grant.relay.username == "1800000000:alice");
    CHECK(grant.relay.password == kAlicePassword);
    CHECK(grant.relay.password == TurnCredentials(kSecret).make("alice", kExpiry).password);
    auto c = h.server.counters();
    CHECK(c.standing_grants == 1);
    CHECK(c.relay_grants == 0);  // Introductions' grants only
    CHECK(c.relay_renewals == 0);
    CHECK(h.logged("granted a standing relay to alice"));

    // Renewed the same way at half life: a fresh expiry, the same name.
    clock += 300;
    const auto renewed = h.send(kAlice, RelayRenew{kAliceRun, 0, "alice"});
    REQUIRE(renewed.size() == 1);
    CHECK(renewed[0].as<RelayCredentials>().relay.username == "1800000300:alice");
    CHECK(renewed[0].as<RelayCredentials>().relay.password ==
          TurnCredentials(kSecret).make("alice", kExpiry + 300).password);
    CHECK(h.server.counters().standing_grants == 2);
    CHECK(h.logged("renewed the standing relay grant of alice"));
    // No credential in the log.
    for (const auto& line : h.log) {
        INFO(line);
        CHECK(line.find("1800000") == std::string::npos);
        CHECK(line.find(kAlicePassword) == std::string::npos);
    }
}

TEST_CASE(
    "with standing relays turned off (--no-standing-relays) a standing RelayRenew is "
    "dropped, and Introductions still grant relays",
    "[unit][relay][standing]") {
    Config c = with_turn();
    c.turn.standing = false;
    Harness h(c);
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");  // an open host
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, 0, "alice"}).empty());
    CHECK(h.server.counters().relay_renewals_no_turn == 1);
    CHECK(h.server.counters().standing_grants == 0);
    CHECK(h.logged("dropped a standing RelayRenew from alice: standing relays are off"));
    const auto sent = alice_asks_for_bob(h);
    REQUIRE_FALSE(sent.empty());
    CHECK(sent[0].as<Introduction>().relay.count == 2);
}

TEST_CASE("without TURN configured a standing RelayRenew is dropped unanswered and counted",
          "[unit][relay][standing]") {
    Harness h;
    h.registered(kAlice, kAliceRun, "alice");
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, 0, "alice"}).empty());
    const auto c = h.server.counters();
    CHECK(c.relay_renewals_no_turn == 1);
    CHECK(c.standing_grants == 0);
    CHECK(to_string(c).find(" relay_renew_drop_no_turn=1 ") != std::string::npos);
    // And so no offer can be stored.
    CHECK(h.send(kAlice, RelayOffer{kAliceRun, 0, "alice", kAliceRelayed, kAliceMapped}).empty());
    CHECK(h.server.counters().relay_offers_no_standing_grant == 1);
}

TEST_CASE(
    "a standing grant goes only to the address that holds the name under its instance, and "
    "only for its own name",
    "[unit][relay][standing]") {
    Harness h(with_turn());
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    // Alice's instance from another port (a spoofer who learnt it, or Alice after a NAT
    // rebinding before she registered again), from Carol's address, and Alice's address with
    // another run: nothing.
    CHECK(h.send(Address{kAlice.ip, 5001}, RelayRenew{kAliceRun, 0, "alice"}).empty());
    CHECK(h.send(kCarol, RelayRenew{kAliceRun, 0, "alice"}).empty());
    CHECK(h.send(kAlice, RelayRenew{kAliceRun + 1, 0, "alice"}).empty());
    h.opens_at(kAlice, kAliceRun);
    CHECK(h.server.counters().relay_renewals_not_registered == 3);
    // Alice, registered, for another name (Bob's, or nobody's): token 0 names only oneself.
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, 0, "bob"}).empty());
    CHECK(h.send(kAlice, RelayRenew{kAliceRun, 0, "dave"}).empty());
    CHECK(h.server.counters().relay_renewals_unknown_introduction == 2);
    CHECK(h.logged("dropped RelayRenew alice -> bob: token 0 names another"));
    CHECK(h.server.counters().standing_grants == 0);
    // None of it granted Bob (or Alice) a standing relay: their offers are not stored.
    CHECK(h.send(kBob, RelayOffer{kBobRun, 0, "bob", kBobRelayed, kBobMapped}).empty());
    CHECK(h.send(kAlice, RelayOffer{kAliceRun, 0, "alice", kAliceRelayed, kAliceMapped}).empty());
    CHECK(h.server.counters().relay_offers_no_standing_grant == 2);
    const auto sent = alice_asks_for_bob(h);
    CHECK(sent.size() == 2);  // the two Introductions, no PeerRelay
    CHECK(h.server.counters().standing_relays_forwarded == 0);
}

TEST_CASE("standing grants share the grant limits of every grant", "[unit][relay][standing]") {
    auto c = with_turn();
    c.grants.name_burst = 3;
    c.grants.name_rate = 0.001;
    Harness h(c);
    h.registered(kAlice, kAliceRun, "alice");
    int answered = 0;
    for (int i = 0; i < 5; ++i)
        answered += static_cast<int>(h.send(kAlice, RelayRenew{kAliceRun, 0, "alice"}).size());
    CHECK(answered == 3);
    CHECK(h.server.counters().standing_grants == 3);
    CHECK(h.server.counters().relay_grants_refused == 2);
    CHECK(h.logged("relay grant limit: no standing relay for alice at 203.0.113.7:5000"));
}

// ---- the standing offer, and the PeerRelay behind each Introduction -----------------------------

TEST_CASE(
    "a standing offer goes as PeerRelay right after the Introduction to each side whose peer "
    "holds one, both ways",
    "[unit][relay][standing]") {
    Harness h(with_turn());
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    stand(h, kBob, kBobRun, "bob", kBobRelayed, kBobMapped);
    CHECK(h.server.counters().standing_offers_stored == 1);

    // Only Bob stands: Alice gets his relay behind her Introduction; Bob gets nothing more.
    const auto one = alice_asks_for_bob(h);
    REQUIRE(one.size() == 3);
    CHECK(one[0].to == kAlice);
    const auto token = one[0].as<Introduction>().token;
    CHECK(one[0].as<Introduction>().relay.count == 2);
    CHECK(one[1].to == kAlice);
    CHECK(one[1].as<PeerRelay>() == PeerRelay{token, kBobRelayed, kBobMapped});
    CHECK(one[2].to == kBob);
    CHECK(one[2].as<Introduction>().token == token);
    CHECK(h.server.counters().standing_relays_forwarded == 1);
    CHECK(h.logged("forwarded the standing relay of bob to alice"));

    // Alice stands too; a re-sent introduction (Bob asks back: the same token) carries both,
    // each right behind its Introduction.
    stand(h, kAlice, kAliceRun, "alice", kAliceRelayed, kAliceMapped);
    const auto both = h.send(kBob, IntroduceRequest{kBobRun, "alice"});
    REQUIRE(both.size() == 4);
    CHECK(both[0].to == kBob);
    CHECK(both[0].as<Introduction>().token == token);
    CHECK(both[1].to == kBob);
    CHECK(both[1].as<PeerRelay>() == PeerRelay{token, kAliceRelayed, kAliceMapped});
    CHECK(both[2].to == kAlice);
    CHECK(both[2].as<Introduction>().token == token);
    CHECK(both[3].to == kAlice);
    CHECK(both[3].as<PeerRelay>() == PeerRelay{token, kBobRelayed, kBobMapped});
    CHECK(h.server.counters().standing_relays_forwarded == 3);

    // A new offer replaces the stored one (an allocation made anew).
    const Address moved{kTurn2.ip, 50000};
    CHECK(h.send(kBob, RelayOffer{kBobRun, 0, "bob", moved, kBobMapped}).empty());
    const auto again = alice_asks_for_bob(h);
    REQUIRE(again.size() == 4);
    CHECK(again[1].as<PeerRelay>() == PeerRelay{token, moved, kBobMapped});

    // Nothing was ever answered to an offer, and no pair-scoped counter moved.
    const auto c = h.server.counters();
    CHECK(c.standing_offers_stored == 3);
    CHECK(c.relay_offers_forwarded == 0);
    CHECK(c.relay_offers_not_registered + c.relay_offers_unknown_introduction +
              c.relay_offers_token_mismatch + c.relay_offers_no_standing_grant ==
          0);
}

TEST_CASE("without a standing offer an Introduction is followed by no PeerRelay",
          "[unit][relay][standing]") {
    Harness h(with_turn());
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    CHECK(alice_asks_for_bob(h).size() == 2);
    // A standing grant alone (no allocation offered yet) hands out nothing either.
    REQUIRE(h.send(kBob, RelayRenew{kBobRun, 0, "bob"}).size() == 1);
    CHECK(h.send(kAlice, IntroduceRequest{kAliceRun, "bob"}).size() == 2);
    CHECK(h.server.counters().standing_relays_forwarded == 0);
}

TEST_CASE("only a side whose Introduction carries a relay grant gets its peer's standing relay",
          "[unit][relay][standing]") {
    auto c = with_turn();
    c.grants.name_burst = 2;
    c.grants.name_rate = 0.001;
    Harness h(c);
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    // Both stand, spending one grant of their name's two; Alice spends her second on a renewal.
    stand(h, kAlice, kAliceRun, "alice", kAliceRelayed, kAliceMapped);
    stand(h, kBob, kBobRun, "bob", kBobRelayed, kBobMapped);
    REQUIRE(h.send(kAlice, RelayRenew{kAliceRun, 0, "alice"}).size() == 1);
    const auto sent = alice_asks_for_bob(h);
    // Alice's Introduction goes without a grant, so without Bob's relay; Bob's has one.
    REQUIRE(sent.size() == 3);
    CHECK(sent[0].to == kAlice);
    CHECK(sent[0].as<Introduction>().relay.count == 0);
    CHECK(sent[1].to == kBob);
    CHECK(sent[1].as<Introduction>().relay.count == 2);
    CHECK(sent[2].to == kBob);
    CHECK(sent[2].as<PeerRelay>().relayed == kAliceRelayed);
    CHECK(h.server.counters().standing_relays_forwarded == 1);
}

TEST_CASE("a pair where one side hides gets standing PeerRelays with no mapped address",
          "[unit][relay][standing][hidden]") {
    for (const int hider : {0, 1}) {
        INFO("hider " << hider);
        Harness h(with_turn());
        h.registered(kAlice, kAliceRun, "alice", {},
                     RegisterFlags::open | (hider == 0 ? RegisterFlags::hidden : 0));
        h.registered(kBob, kBobRun, "bob", {},
                     RegisterFlags::open | (hider == 1 ? RegisterFlags::hidden : 0));
        stand(h, kAlice, kAliceRun, "alice", kAliceRelayed, kAliceMapped);
        stand(h, kBob, kBobRun, "bob", kBobRelayed, kBobMapped);
        const auto sent = alice_asks_for_bob(h);
        REQUIRE(sent.size() == 4);
        const auto token = sent[0].as<Introduction>().token;
        CHECK((sent[0].as<Introduction>().flags & IntroductionFlags::relay_only) != 0);
        CHECK(sent[1].as<PeerRelay>() == PeerRelay{token, kBobRelayed, Address{}});
        CHECK(sent[3].as<PeerRelay>() == PeerRelay{token, kAliceRelayed, Address{}});
    }
}

TEST_CASE("a standing RelayOffer without a standing grant is dropped, counted, not forwarded",
          "[unit][relay][standing]") {
    Harness h(with_turn());
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    CHECK(h.send(kBob, RelayOffer{kBobRun, 0, "bob", kBobRelayed, kBobMapped}).empty());
    CHECK(h.server.counters().relay_offers_no_standing_grant == 1);
    CHECK(h.logged("dropped a standing RelayOffer from bob: no standing grant"));
    // For another name than its own: dropped as an offer for no introduction.
    REQUIRE(h.send(kBob, RelayRenew{kBobRun, 0, "bob"}).size() == 1);
    CHECK(h.send(kBob, RelayOffer{kBobRun, 0, "alice", kBobRelayed, kBobMapped}).empty());
    CHECK(h.server.counters().relay_offers_unknown_introduction == 1);
    // Neither was stored: granted since, Bob still has nothing to hand out.
    CHECK(alice_asks_for_bob(h).size() == 2);
    const auto c = h.server.counters();
    CHECK(c.standing_offers_stored == 0);
    CHECK(c.standing_relays_forwarded == 0);
    const auto line = to_string(c);
    for (const char* key : {" standing_grants=1 ", " relay_offer_drop_no_standing_grant=1 ",
                            " standing_offers_stored=0 ", " standing_relays_forwarded=0 "}) {
        INFO(key);
        CHECK(line.find(key) != std::string::npos);
    }
}

TEST_CASE("a standing RelayOffer from a spoofed source is not stored", "[unit][relay][standing]") {
    Harness h(with_turn());
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    h.registered(kCarol, kCarolRun, "carol");
    REQUIRE(h.send(kBob, RelayRenew{kBobRun, 0, "bob"}).size() == 1);  // granted, not offered
    // Someone who knows Bob's instance, from another port and from Carol's address, names a
    // victim as Bob's relay; Carol under her own run names Bob; Bob's address under another run.
    const Address victim{0x08080808u, 53};
    CHECK(h.send(Address{kBob.ip, 6001}, RelayOffer{kBobRun, 0, "bob", victim, victim}).empty());
    CHECK(h.send(kCarol, RelayOffer{kBobRun, 0, "bob", victim, victim}).empty());
    CHECK(h.send(kBob, RelayOffer{kBobRun + 1, 0, "bob", victim, victim}).empty());
    h.opens_at(kBob, kBobRun);
    CHECK(h.server.counters().relay_offers_not_registered == 3);
    CHECK(h.send(kCarol, RelayOffer{kCarolRun, 0, "bob", victim, victim}).empty());
    CHECK(h.server.counters().relay_offers_unknown_introduction == 1);
    CHECK(h.server.counters().standing_offers_stored == 0);
    // Alice's Introduction to Bob is followed by no PeerRelay.
    const auto sent = alice_asks_for_bob(h);
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].as<Introduction>().peer == "bob");
    CHECK(h.server.counters().standing_relays_forwarded == 0);
}

// ---- lifetime -----------------------------------------------------------------------------------

TEST_CASE(
    "a standing relay lives while its credential is renewed, and ends with its registration "
    "or a new run",
    "[unit][relay][standing]") {
    std::int64_t clock = kClock;
    auto c = with_turn(&clock);
    c.limits.rate = 1e9;  // many datagrams from Bob's IP: only the rules under test act here
    c.limits.burst = 1e9;
    c.grants.name_burst = 100;  // and every introduction grants Bob a relay too
    c.grants.ip_burst = 100;
    Harness h(c);
    h.registered(kAlice, kAliceRun, "alice");
    h.registered(kBob, kBobRun, "bob");
    stand(h, kBob, kBobRun, "bob", kBobRelayed, kBobMapped);
    Address bob = kBob;
    std::uint64_t bob_run = kBobRun;
    const auto introductions_of = [&] {
        h.advance(milliseconds(11000));  // past the token's reuse: a new introduction each time
        h.registered(kAlice, kAliceRun, "alice");
        h.registered(bob, bob_run, "bob");
        return alice_asks_for_bob(h).size();
    };

    // Renewed at half life, it is handed out past its first credential's expiry.
    clock += 300;
    REQUIRE(h.send(kBob, RelayRenew{kBobRun, 0, "bob"}).size() == 1);
    clock += 400;  // 700 s after the first grant
    CHECK(introductions_of() == 3);
    // Not renewed, it lapses with its credential: withdrawn, and a new offer is not taken.
    clock += 200;  // 900 s: the renewed credential expired
    CHECK(introductions_of() == 2);
    CHECK(h.send(kBob, RelayOffer{kBobRun, 0, "bob", kBobRelayed, kBobMapped}).empty());
    CHECK(h.server.counters().relay_offers_no_standing_grant == 1);
    // Granted again, the stored offer stands again.
    REQUIRE(h.send(kBob, RelayRenew{kBobRun, 0, "bob"}).size() == 1);
    CHECK(introductions_of() == 3);

    // A refresh (and a move, the same run) keeps it.
    bob = Address{kBob.ip, 6001};
    CHECK(introductions_of() == 3);

    // Unregistered and registered again: forgotten.
    CHECK(h.send(bob, Unregister{kBobRun}).empty());
    CHECK(introductions_of() == 2);
    CHECK(h.send(bob, RelayOffer{kBobRun, 0, "bob", kBobRelayed, kBobMapped}).empty());
    CHECK(h.server.counters().relay_offers_no_standing_grant == 2);

    // A new run on the same socket (another instance): forgotten too.
    stand(h, bob, kBobRun, "bob", kBobRelayed, kBobMapped);
    CHECK(introductions_of() == 3);
    bob_run = kBobRun + 1;
    CHECK(introductions_of() == 2);

    // Expired for want of a refresh: forgotten with the name.
    stand(h, bob, bob_run, "bob", kBobRelayed, kBobMapped);
    CHECK(introductions_of() == 3);
    h.advance(milliseconds(50000));
    h.registered(kAlice, kAliceRun, "alice");
    h.server.tick(h.now);
    CHECK(h.logged("expired bob"));
    CHECK(introductions_of() == 2);
    CHECK(h.server.counters().rate_limited == 0);
}
