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
#include "relay_lab.hpp"

using namespace netcore;
using coturn_test::Coturn;
using loopback::bytes;
using loopback::connect_pair;
using loopback::connected;
using loopback::Lab;
using loopback::Node;
using relay_lab::granting;
using relay_lab::in_relay_range;
using namespace std::chrono_literals;

namespace {

// A session that only relays (both sides must), with the time a relay needs under load.
Config relay_only(const Lab& lab, const std::string& name, bool plaintext = false) {
    Config c = lab.config(name);
    c.relay_only = true;
    c.punch_timeout = Duration(8000);
    c.connect_timeout = Duration(5000);
    c.insecure_plaintext_enet = plaintext;
    return c;
}

// Connecting through the relays takes longer than directly: two allocations first.
constexpr auto kRelayedConnect = 10000ms;

}  // namespace

TEST_CASE("two sessions that use only the relay connect through coturn and talk both ways",
          "[relay]") {
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& alice = lab.add(relay_only(lab, "alice"));
    Node& bob = lab.add(relay_only(lab, "bob"));
    INFO(coturn.tail());
    connect_pair(lab, alice, bob, kRelayedConnect);

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
    connect_pair(lab, alice, bob);
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
    // client gives up, then the session allocates on the second. That is 39 first RTOs after
    // the first send (9.75 s by default: docs/TURN.md); 25 ms ones make it 0.975 s.
    const Address silent{0x7F000001u, static_cast<std::uint16_t>(coturn.relay_max() + 1)};
    server.turn.servers = {silent, coturn.address()};
    Lab lab(server);
    auto config = [&](const std::string& name) {
        Config c = relay_only(lab, name);
        c.turn_rto = Duration(25);
        return c;
    };
    Node& alice = lab.add(config("alice"));
    Node& bob = lab.add(config("bob"));
    connect_pair(lab, alice, bob, kRelayedConnect);
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
    connect_pair(lab, alice, bob, kRelayedConnect);
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
    connect_pair(lab, alice, bob, kRelayedConnect);
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
    connect_pair(lab, alice, bob);
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
    connect_pair(lab, alice, bob, kRelayedConnect);
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

namespace {

// Reliable lines from one node to the other, each checked at the other side for order and
// completeness; the longest gap between two lines received is the pause the game saw.
struct Lines {
    Node& from;
    Node& to;
    int sent = 0;
    std::size_t seen = 0;  // lines received, all in order so far
    bool in_order = true;
    std::size_t events_read = 0;
    TimePoint last{};
    Duration longest{0};

    void send() {
        REQUIRE(from.session->send(Channel::reliable, bytes("line " + std::to_string(sent))));
        ++sent;
    }
    void watch(TimePoint now) {
        for (; events_read < to.events.size(); ++events_read) {
            const Event& e = to.events[events_read];
            if (e.type != EventType::received) continue;
            in_order = in_order &&
                       std::string(e.data.begin(), e.data.end()) == "line " + std::to_string(seen);
            ++seen;
            if (last != TimePoint{})
                longest = std::max(longest, std::chrono::duration_cast<Duration>(now - last));
            last = now;
        }
    }
};

// A relayed pair talks through a coturn restart (docs/RELAY.md): `hidden`, alice hides her
// address, and both send through their own allocations (a relay-only introduction); `down`, the
// first server of the grant dies for good and the allocations move to the second.
void talk_through_restart(bool hidden, bool down = false) {
    Coturn coturn({});
    std::optional<Coturn> second;
    rendezvous::Config server = granting(coturn);
    if (down) {
        second.emplace(Coturn::Options{});
        server.turn.servers.push_back(second->address());
    }
    const Coturn& last = down ? *second : coturn;
    // Offers pass on the introduction for 2 s only: the re-offers after the restart must pass on
    // the pair's grant record (PROTOCOL.md §4.11).
    server.intro_ttl = 2000ms;
    server.relay_offer_window = 2000ms;
    Lab lab(server);
    auto config = [&](const std::string& name) {
        Config c = relay_only(lab, name);
        c.peer_timeout = Duration(10000);  // the library's default: the pause must stay far below
        c.hide_address = hidden && name == "alice";
        return c;
    };
    Node& alice = lab.add(config("alice"));
    Node& bob = lab.add(config("bob"));
    INFO(coturn.tail());
    connect_pair(lab, alice, bob, kRelayedConnect);

    // A line each way every 20 ms, from now to the end.
    Lines to_bob{alice, bob};
    Lines to_alice{bob, alice};
    bool talking = true;
    auto next = Clock::now();
    lab.each_step.push_back([&] {
        const auto now = Clock::now();
        if (talking && now >= next) {
            to_bob.send();
            to_alice.send();
            next = now + 20ms;
        }
        to_bob.watch(now);
        to_alice.watch(now);
    });
    lab.run_for(2500ms);  // past the introduction's offer window
    REQUIRE(to_bob.seen > 50);
    REQUIRE(to_alice.seen > 50);
    REQUIRE(to_bob.longest < 500ms);

    // coturn dies and comes back on the same port, with no allocation; or stays dead.
    if (down)
        coturn.kill();
    else
        coturn.restart();
    REQUIRE(lab.run_until(
        [&] {
            return alice.session->stats().relay_reallocations >= 1 &&
                   bob.session->stats().relay_reallocations >= 1;
        },
        8000ms));
    lab.run_for(3000ms);
    talking = false;
    REQUIRE(lab.run_until(
        [&] {
            return to_bob.seen == static_cast<std::size_t>(to_bob.sent) &&
                   to_alice.seen == static_cast<std::size_t>(to_alice.sent);
        },
        5000ms));

    for (Node* n : {&alice, &bob}) {
        CHECK(n->count(EventType::disconnected) == 0);
        CHECK(n->count(EventType::error) == 0);
        CHECK(connected(*n));
        CHECK(n->session->path() == Path::relay);
        CHECK(in_relay_range(last, n->session->peer_address()));
        CHECK(n->session->stats().relay_allocated);
    }
    CHECK(to_bob.in_order);
    CHECK(to_alice.in_order);
    // The pause the game saw, each way.
    std::printf("TURN %s%s: longest gap %lld ms to bob, %lld ms to alice\n",
                down ? "server down" : "restart", hidden ? " (hidden)" : "",
                static_cast<long long>(to_bob.longest.count()),
                static_cast<long long>(to_alice.longest.count()));
    CHECK(to_bob.longest < 3000ms);
    CHECK(to_alice.longest < 3000ms);
    // Each side's new relayed address went to the other on the pair's grant record.
    CHECK(lab.server().counters().relay_offers_granted >= 2);
}

}  // namespace

TEST_CASE(
    "a relayed pair goes on through a TURN server restart: both allocations are made anew and "
    "re-offered, with no disconnect and no reliable line lost",
    "[relay]") {
    talk_through_restart(false);
}

TEST_CASE(
    "a pair that hides its addresses goes on through a TURN server restart, each side sending "
    "through its new allocation",
    "[relay]") {
    talk_through_restart(true);
}

TEST_CASE(
    "when the grant's first TURN server dies mid-session, the relayed pair moves to the second "
    "with no disconnect and no reliable line lost",
    "[relay]") {
    SECTION("plain relay") {
        talk_through_restart(false, true);
    }
    SECTION("hidden addresses") {
        talk_through_restart(true, true);
    }
}
