// The relay path end to end on loopback: a real rendezvous granting TURN-REST credentials, a
// real coturn, and two netcore sessions (docs/RELAY.md). On loopback every direct path works,
// so the relay alone is tested with Config::relay_only on both sides; the NAT lab
// (tests/natlab) shows the relay winning where punching fails, and the move to a direct path.
// Exits 77 (skipped) when coturn is not installed.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "attacker.hpp"
#include "coturn.hpp"
#include "loopback.hpp"

using namespace netcore;
using coturn_test::Coturn;
using loopback::bytes;
using loopback::connected;
using loopback::Lab;
using loopback::Node;
using namespace std::chrono_literals;

namespace {

// A rendezvous that grants relays on `coturn`.
rendezvous::Config granting(const Coturn& coturn) {
    rendezvous::Config c;
    c.turn.servers = {coturn.address()};
    c.turn.secret = "netcore-test-secret";  // Coturn's default
    return c;
}

// A session that only relays (both sides must), with the time a relay needs under load.
Config relay_only(const Lab& lab, const std::string& name, bool plaintext = false) {
    Config c = lab.config(name);
    c.relay_only = true;
    c.punch_timeout = Duration(8000);
    c.connect_timeout = Duration(5000);
    c.insecure_plaintext_enet = plaintext;
    return c;
}

// Alice asks for bob once he is registered; both connect, through the relays.
void connect_relayed(Lab& lab, Node& alice, Node& bob) {
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 10000ms));
}

bool in_relay_range(const Coturn& coturn, Address a) {
    return a.ip == 0x7F000001u && a.port >= coturn.relay_min() && a.port <= coturn.relay_max();
}

}  // namespace

TEST_CASE("two sessions that use only the relay connect through coturn and talk both ways",
          "[relay]") {
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& alice = lab.add(relay_only(lab, "alice"));
    Node& bob = lab.add(relay_only(lab, "bob"));
    INFO(coturn.tail());
    connect_relayed(lab, alice, bob);

    for (Node* n : {&alice, &bob}) {
        const auto* e = n->last(EventType::connected);
        REQUIRE(e != nullptr);
        CHECK(e->path == Path::relay);
        CHECK(n->session->path() == Path::relay);
        // ENet knows the peer by its relayed address: a port of coturn's relay range.
        CHECK(in_relay_range(coturn, e->address));
        CHECK(n->session->stats().relay_allocated);
    }
    CHECK(alice.last(EventType::connected)->address != bob.last(EventType::connected)->address);
    CHECK(lab.server().counters().relay_grants >= 2);

    // Both channels, both ways, through the two allocations.
    REQUIRE(alice.session->send(Channel::reliable, bytes("hello through the relay")));
    REQUIRE(bob.session->send(Channel::unreliable, bytes("and back")));
    REQUIRE(lab.run_until([&] { return !alice.received().empty() && !bob.received().empty(); }));
    CHECK(bob.received() == std::vector<std::string>{"hello through the relay"});
    CHECK(alice.received() == std::vector<std::string>{"and back"});

    // Many packets, larger than a probe, reliable: all arrive, in order.
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i) {
        sent.push_back("packet " + std::to_string(i) + std::string(900, 'x'));
        REQUIRE(alice.session->send(Channel::reliable, bytes(sent.back())));
    }
    REQUIRE(lab.run_until([&] { return bob.received().size() == 201; }, 10000ms));
    const auto got = bob.received();
    CHECK(std::vector<std::string>(got.begin() + 1, got.end()) == sent);

    // A goodbye through the relay is a goodbye, not a timeout.
    alice.session->disconnect();
    REQUIRE(lab.run_until([&] { return bob.count(EventType::disconnected) == 1; }));
    CHECK(bob.last(EventType::disconnected)->error == Error::peer_disconnected);
    CHECK_FALSE(bob.session->stats().relay_allocated);  // given back with the session
}

TEST_CASE("with a relay granted, sessions that can punch connect directly, the relay on standby",
          "[relay]") {
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    for (Node* n : {&alice, &bob}) {
        CHECK(n->session->path() != Path::relay);
        CHECK_FALSE(in_relay_range(coturn, n->session->peer_address()));
    }
    // The allocation is kept for when the direct path breaks (docs/PATHS.md).
    REQUIRE(lab.run_until([&] {
        return alice.session->stats().relay_allocated && bob.session->stats().relay_allocated;
    }));
    CHECK(alice.session->path() != Path::relay);
    REQUIRE(alice.session->send(Channel::reliable, bytes("direct")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
}

TEST_CASE(
    "a session told not to relay never allocates, and relay-only pairs without a grant "
    "fail to punch with a reason",
    "[relay]") {
    Coturn coturn({});
    {
        Lab lab(granting(coturn));
        Config c = lab.config("alice");
        c.use_relay = false;
        Node& alice = lab.add(c);
        Node& bob = lab.add(lab.config("bob"));
        REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
        REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
        REQUIRE(lab.run_until([&] { return alice.count(EventType::introduced) == 1; }));
        lab.run_for(300ms);
        CHECK_FALSE(alice.session->stats().relay_allocated);
    }
    {
        Lab lab;  // no TURN configured: no grant
        auto config = [&](const std::string& name) {
            Config c = lab.config(name);
            c.relay_only = true;
            c.punch_timeout = Duration(1000);
            return c;
        };
        Node& alice = lab.add(config("alice"));
        Node& bob = lab.add(config("bob"));
        REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
        REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
        REQUIRE(lab.run_until([&] { return alice.count(EventType::error) == 1; }, 3000ms));
        CHECK(alice.last(EventType::error)->error == Error::punch_failed);
    }
}

TEST_CASE("when the grant's first TURN server does not answer, the second one is used", "[relay]") {
    Coturn coturn({});
    rendezvous::Config server = granting(coturn);
    // A port nobody listens on: the first server's Allocate goes unanswered until the TURN
    // client gives up (about 10 s: docs/TURN.md), then the session allocates on the second.
    const Address silent{0x7F000001u, static_cast<std::uint16_t>(coturn.relay_max() + 1)};
    server.turn.servers = {silent, coturn.address()};
    Lab lab(server);
    auto config = [&](const std::string& name) {
        Config c = lab.config(name);
        c.relay_only = true;
        c.punch_timeout = Duration(20000);
        return c;
    };
    Node& alice = lab.add(config("alice"));
    Node& bob = lab.add(config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 18000ms));
    CHECK(alice.session->path() == Path::relay);
    CHECK(in_relay_range(coturn, alice.session->peer_address()));
}

TEST_CASE("what anyone at the peer's IP sends to a relayed session's relay is dropped unopened",
          "[relay]") {
    // A TURN permission lets in a whole IP (RFC 8656 §9), so any port there reaches the peer's
    // allocation: here, a forged ENet goodbye for every slot and session id, and junk. The
    // control runs the same against plaintext ENet, where the goodbye ends the session.
    const bool plaintext = GENERATE(false, true);
    INFO((plaintext ? "control: plaintext ENet" : "sealed"));
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& alice = lab.add(relay_only(lab, "alice", plaintext));
    Node& bob = lab.add(relay_only(lab, "bob", plaintext));
    INFO(coturn.tail());
    connect_relayed(lab, alice, bob);
    REQUIRE(alice.session->path() == Path::relay);
    const Address bobs_relay = alice.session->peer_address();  // where alice sends bob's traffic
    REQUIRE(in_relay_range(coturn, bobs_relay));
    const auto before = bob.session->stats().unauthenticated;

    attacker::Udp intruder;  // 127.0.0.1, another port than alice's: inside the permission
    auto forged = attacker::forged_disconnects(2);
    forged.push_back(std::vector<std::uint8_t>(64, 0x00));
    for (const auto& d : forged) intruder.send(bobs_relay, d);
    if (plaintext) {
        REQUIRE(lab.run_until([&] { return bob.count(EventType::disconnected) == 1; }));
        return;  // the attack is real
    }
    REQUIRE(lab.run_until(
        [&] { return bob.session->stats().unauthenticated >= before + forged.size(); }));
    REQUIRE(alice.session->send(Channel::reliable, bytes("still relayed")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
    CHECK(bob.count(EventType::disconnected) == 0);
    CHECK(connected(bob));
}

TEST_CASE("credentials issued already expired are refused by coturn, and the session says so",
          "[relay]") {
    // A rendezvous whose clock is an hour slow hands out credentials that expired 50 minutes
    // ago: coturn refuses the Allocate (401), as it will any credential once its 600 s are over.
    Coturn coturn({});
    rendezvous::Config server = granting(coturn);
    server.turn.unix_clock = [] { return rendezvous::system_unix_time() - 3600; };
    Lab lab(server);
    auto config = [&](const std::string& name) {
        Config c = relay_only(lab, name);
        c.punch_timeout = Duration(3000);
        return c;
    };
    Node& alice = lab.add(config("alice"));
    Node& bob = lab.add(config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::error) == 1; }, 6000ms));
    INFO(coturn.tail());
    const auto* e = alice.last(EventType::error);
    CHECK(e->error == Error::punch_failed);
    INFO(e->detail);
    CHECK(e->detail.find("refused the credentials (401") != std::string::npos);
    CHECK_FALSE(connected(alice));
    CHECK(lab.server().counters().relay_grants == 2);  // granted, but dead on arrival
}

TEST_CASE("a relayed session renews its credentials at half their lifetime and outlives them",
          "[relay]") {
    // Credentials of 4 s: renewed at about 2 s, then every ~2 s; the allocations, made under
    // the first ones, live on past their expiry (coturn checks the timestamp on the Allocate
    // only: PROTOCOL.md §4.11).
    Coturn coturn({});
    rendezvous::Config server = granting(coturn);
    server.turn.ttl = std::chrono::seconds(4);
    Lab lab(server);
    Node& alice = lab.add(relay_only(lab, "alice"));
    Node& bob = lab.add(relay_only(lab, "bob"));
    INFO(coturn.tail());
    connect_relayed(lab, alice, bob);
    REQUIRE(lab.run_until(
        [&] {
            return alice.session->stats().relay_renewals >= 3 &&
                   bob.session->stats().relay_renewals >= 3;
        },
        12000ms));
    const auto c = lab.server().counters();
    CHECK(c.relay_renewals >= 6);
    CHECK(c.relay_renewals_not_registered + c.relay_renewals_unknown_introduction +
              c.relay_renewals_token_mismatch + c.relay_grants_refused ==
          0);
    // Past the first credentials' expiry, still relayed and talking.
    for (Node* n : {&alice, &bob}) {
        CHECK(connected(*n));
        CHECK(n->session->path() == Path::relay);
        CHECK(n->session->stats().relay_allocated);
    }
    REQUIRE(alice.session->send(Channel::reliable, bytes("after the credentials expired")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
    CHECK(bob.received() == std::vector<std::string>{"after the credentials expired"});
}

TEST_CASE("a direct session keeps its relay on standby and renews its credentials", "[relay]") {
    Coturn coturn({});
    rendezvous::Config server = granting(coturn);
    server.turn.ttl = std::chrono::seconds(4);  // renewed at half its life: within 2 s
    Lab lab(server);
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    REQUIRE(alice.session->path() != Path::relay);
    // The relay is the path to move to when the direct one breaks (docs/PATHS.md): it stays
    // allocated, and its credentials are renewed, while the session runs direct.
    REQUIRE(lab.run_until([&] { return alice.session->stats().relay_renewals >= 1; }, 5000ms));
    CHECK(lab.server().counters().relay_renewals >= 1);
    CHECK(alice.session->path() != Path::relay);
    CHECK(alice.count(EventType::path_changed) == 0);
}

TEST_CASE("one allocation serves a session's every relayed connection", "[relay]") {
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& alice = lab.add(relay_only(lab, "alice"));
    Node& bob = lab.add(relay_only(lab, "bob"));
    Node& carol = lab.add(relay_only(lab, "carol"));
    INFO(coturn.tail());
    connect_relayed(lab, alice, bob);
    REQUIRE(lab.run_until([&] { return carol.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("carol", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until(
        [&] {
            const auto peers = alice.session->peers();
            return connected(carol) && peers.size() == 2 && peers[1].state == State::connected;
        },
        10000ms));

    const auto peers = alice.session->peers();
    for (const auto& p : peers) {
        CHECK(p.path == Path::relay);
        CHECK(in_relay_range(coturn, p.address));
    }
    CHECK(peers[0].address != peers[1].address);  // bob's allocation, carol's
    // Bob and carol both send to alice's one relayed address.
    CHECK(bob.session->peer_address() == carol.session->peer_address());
    CHECK(in_relay_range(coturn, bob.session->peer_address()));
    CHECK(alice.session->stats().relay_allocated);

    // Both peers sit at 127.0.0.1: what alice's allocation relays is told apart by the channel.
    REQUIRE(alice.session->send_to(peers[0].id, Channel::reliable, bytes("to bob")));
    REQUIRE(alice.session->send_to(peers[1].id, Channel::reliable, bytes("to carol")));
    REQUIRE(bob.session->send(Channel::reliable, bytes("from bob")));
    REQUIRE(carol.session->send(Channel::reliable, bytes("from carol")));
    REQUIRE(lab.run_until([&] {
        return bob.received().size() == 1 && carol.received().size() == 1 &&
               alice.received().size() == 2;
    }));
    CHECK(bob.received() == std::vector<std::string>{"to bob"});
    CHECK(carol.received() == std::vector<std::string>{"to carol"});
    for (const auto& e : alice.events)
        if (e.type == EventType::received)
            CHECK(std::string(e.data.begin(), e.data.end()) == "from " + e.peer);
}
