// Standing relays on loopback (docs/RELAY.md "Standing relays", issue 15): a player that holds
// a TURN allocation while registered has its relayed address handed to whoever the rendezvous
// introduces it to, with the Introduction; a peer whose own allocation is not up yet reaches it
// through it at once, and the holder answers back through its own allocation (a reflexive
// relay). A real rendezvous, a real coturn; on loopback every direct path works, so both sides
// use Config::relay_only, and the peer's own allocation is kept from coming up by dropping what
// it sends to coturn (tests/lossy_send.cpp). Exits 77 (skipped) when coturn is not installed.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "attacker.hpp"
#include "coturn.hpp"
#include "loopback.hpp"
#include "lossy_send.hpp"
#include "relay_lab.hpp"

using namespace netcore;
using coturn_test::Coturn;
using loopback::bytes;
using loopback::connected;
using loopback::Lab;
using loopback::Node;
using relay_lab::granting;
using relay_lab::in_relay_range;
using namespace std::chrono_literals;

namespace {

Config relaying(const Lab& lab, const std::string& name, bool standing) {
    Config c = lab.config(name);
    c.relay_only = true;
    c.standing_relay = standing;
    c.punch_timeout = Duration(8000);
    c.connect_timeout = Duration(5000);
    return c;
}

// Steps until `holder` holds its standing relay and the server has its offer.
bool standing_up(Lab& lab, Node& holder) {
    return lab.run_until(
        [&] {
            const Stats st = holder.session->stats();
            return st.relay_standing && st.relay_allocated &&
                   lab.server().counters().standing_offers_stored > 0;
        },
        10000ms);
}

}  // namespace

TEST_CASE(
    "a player with a standing relay is reached through it by a peer whose own relay is "
    "not up, and answers through it",
    "[relay][standing]") {
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& bob = lab.add(relaying(lab, "bob", true));
    INFO(coturn.tail());
    // Bob holds his relay before anyone asks for him, and the server knows its address.
    REQUIRE(standing_up(lab, bob));

    // Alice has no allocation of her own: whatever she sends to coturn's port is lost.
    Node& alice = lab.add(relaying(lab, "alice", false));
    const std::uint16_t alice_port = alice.session->local_address().port;
    lossy::Loss no_allocation(lossy::blackout_from(alice_port, coturn.address().port, 60s));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 10000ms));

    CHECK(no_allocation.dropped() > 0);
    CHECK_FALSE(alice.session->stats().relay_allocated);
    CHECK(lab.server().counters().standing_relays_forwarded >= 1);
    // Alice sends to bob's relayed address; bob answers through his own allocation.
    const auto* a = alice.last(EventType::connected);
    const auto* b = bob.last(EventType::connected);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a->path == Path::relay);
    CHECK(b->path == Path::relay);
    CHECK(in_relay_range(coturn, a->address));
    CHECK(bob.session->stats().relay_standing);

    // Both channels, both ways, and a burst of reliable lines in order.
    REQUIRE(alice.session->send(Channel::reliable, bytes("through bob's relay")));
    REQUIRE(bob.session->send(Channel::unreliable, bytes("and back through it")));
    REQUIRE(lab.run_until([&] { return !alice.received().empty() && !bob.received().empty(); }));
    CHECK(bob.received() == std::vector<std::string>{"through bob's relay"});
    CHECK(alice.received() == std::vector<std::string>{"and back through it"});
    std::vector<std::string> sent;
    for (int i = 0; i < 50; ++i) {
        sent.push_back("line " + std::to_string(i) + std::string(300, 'x'));
        REQUIRE(bob.session->send(Channel::reliable, bytes(sent.back())));
    }
    REQUIRE(lab.run_until([&] { return alice.received().size() == 1 + sent.size(); }, 10000ms));
    CHECK(std::equal(sent.begin(), sent.end(), alice.received().begin() + 1));
}

TEST_CASE(
    "a standing relay outlives its connections, and a session without one releases its "
    "relay when the connection ends",
    "[relay][standing]") {
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& bob = lab.add(relaying(lab, "bob", true));
    Node& alice = lab.add(relaying(lab, "alice", false));
    INFO(coturn.tail());
    REQUIRE(lab.run_until([&] { return bob.session->stats().relay_allocated; }, 10000ms));
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 10000ms));
    REQUIRE(alice.session->stats().relay_allocated);

    alice.session->close();
    REQUIRE(lab.run_until([&] { return bob.count(EventType::disconnected) == 1; }, 10000ms));
    lab.run_until([&] { return !alice.session->stats().relay_allocated; }, 3000ms);
    // Bob still holds his: registered, and ready for the next peer.
    CHECK(bob.session->stats().relay_allocated);
    CHECK(bob.session->stats().relay_standing);
    CHECK(bob.session->state() == State::registered);
}

TEST_CASE(
    "what anyone at the peer's IP sends to a standing relay before the peer does takes no "
    "path: only a probe that opens does",
    "[relay][standing][attack]") {
    // A TURN permission lets in a whole IP: an intruder there reaches bob's relay before alice
    // does (her first probes are held back 300 ms). Were the reflexive relay taken on the first
    // datagram, bob would answer the intruder's port, and alice would never hear him.
    Coturn coturn({});
    Lab lab(granting(coturn));
    Node& bob = lab.add(relaying(lab, "bob", true));
    INFO(coturn.tail());
    REQUIRE(standing_up(lab, bob));
    Node& alice = lab.add(relaying(lab, "alice", false));
    const std::uint16_t alice_port = alice.session->local_address().port;
    const std::uint16_t turn_port = coturn.address().port;
    const std::uint16_t relay_min = coturn.relay_min();
    const std::uint16_t relay_max = coturn.relay_max();
    const auto held_until = Clock::now() + 300ms + 5000ms;  // refined below, at bob's intro
    auto hold = std::make_shared<TimePoint>(held_until);
    lossy::Loss loss([=](std::uint16_t from, std::uint16_t to) {
        if (from != alice_port) return false;
        if (to == turn_port) return true;  // alice has no allocation of her own
        return to >= relay_min && to <= relay_max && Clock::now() < *hold;
    });
    attacker::Udp intruder;  // 127.0.0.1: inside bob's permission for alice's IP
    std::size_t junk_sent = 0;
    lab.each_step.push_back([&] {
        if (bob.count(EventType::introduced) == 0) return;
        if (*hold > Clock::now() + 300ms) *hold = Clock::now() + 300ms;
        if (Clock::now() >= *hold) return;
        std::vector<std::uint8_t> junk(95, 0x5A);
        for (std::uint32_t p = relay_min; p <= relay_max; ++p) {
            intruder.send(Address{0x7F000001u, static_cast<std::uint16_t>(p)}, junk);
            ++junk_sent;
        }
    });
    const auto dropped_before = bob.session->stats().datagrams_dropped;
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 10000ms));
    CHECK(junk_sent > 0);
    CHECK(bob.session->stats().datagrams_dropped > dropped_before);
    // Bob answers alice's port, which her probe proved, and not the intruder's.
    const auto* b = bob.last(EventType::connected);
    REQUIRE(b != nullptr);
    CHECK(b->path == Path::relay);
    CHECK(b->address == Address{0x7F000001u, alice_port});
}
