// netcore sessions against a real rendezvous on loopback, with real ENet on one socket each.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <enet/enet.h>

#include "crypto.hpp"
#include "loopback.hpp"
#include "netcore/protocol.hpp"

using namespace netcore;
using namespace loopback;  // Lab, Node, bytes, connected, connect_pair
using namespace std::chrono_literals;

TEST_CASE("a session registers and learns its public address", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    CHECK(alice.session->state() == State::registering);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    CHECK(alice.session->state() == State::registered);
    const auto* e = alice.last(EventType::registered);
    CHECK(e->address == Address{0x7F000001u, alice.session->local_address().port});
    CHECK(alice.session->public_address() == e->address);
    CHECK(lab.server().counters().names == 1);
}

TEST_CASE("a session keeps its name across cookie windows: refreshes open under its key",
          "[session]") {
    rendezvous::Config server;
    server.refresh = std::chrono::milliseconds(100);
    server.expiry = std::chrono::milliseconds(500);
    server.cookie_window = std::chrono::milliseconds(150);  // a cookie lives 150 to 300 ms
    Lab lab(server);
    Node& alice = lab.add(lab.config("alice"));
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    CHECK(lab.server().counters().challenged == 1);  // the Hello
    lab.run_for(1500ms);
    const auto c = lab.server().counters();
    // A refresh from the name's own address opens under the key kept with the name: its cookie,
    // stale for a second now, is not even looked at (PROTOCOL.md §9).
    CHECK(c.challenged == 1);
    CHECK(c.refreshed >= 8);
    CHECK(c.refreshed_fast == c.refreshed);
    CHECK(c.registered == 1);  // never lost and taken anew
    CHECK(c.expired == 0);
    CHECK(c.rate_limited == 0);  // an honest client stays far inside the limits
    CHECK(alice.session->state() == State::registered);
    CHECK(alice.count(EventType::error) == 0);
}

TEST_CASE("asking for an unknown peer waits, then fails with peer_not_online", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    REQUIRE(alice.session->connect("nobody", Duration(1200)) == Error::none);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::waiting_for_peer) == 1; }));
    CHECK(alice.session->state() == State::waiting);
    CHECK(alice.last(EventType::waiting_for_peer)->peer == "nobody");
    REQUIRE(lab.run_until([&] { return alice.count(EventType::error) == 1; }, 3000ms));
    CHECK(alice.last(EventType::error)->error == Error::peer_not_online);
    CHECK(alice.count(EventType::waiting_for_peer) == 1);  // reported once, not per retry
    CHECK(alice.session->state() == State::registered);
}

TEST_CASE("a peer that comes online late is found while waiting", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::waiting_for_peer) == 1; }));
    lab.run_for(300ms);
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    CHECK(alice.last(EventType::introduced)->peer == "bob");
    CHECK(bob.last(EventType::introduced)->peer == "alice");
}

TEST_CASE("two sessions punch, connect ENet both ways, and exchange messages", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);

    const auto* a = alice.last(EventType::connected);
    const auto* b = bob.last(EventType::connected);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a->peer == "bob");
    CHECK(b->peer == "alice");
    CHECK(a->address == Address{0x7F000001u, bob.session->local_address().port});
    CHECK(b->address == Address{0x7F000001u, alice.session->local_address().port});
    CHECK(a->path == Path::direct);  // on loopback the LAN address is the public one
    CHECK(alice.count(EventType::connected) == 1);
    CHECK(bob.count(EventType::connected) == 1);
    CHECK(alice.session->stats().probes_sent > 0);
    CHECK(bob.session->stats().probes_received > 0);

    SECTION("reliable messages arrive in order, both ways") {
        for (int i = 0; i < 20; ++i) {
            REQUIRE(alice.session->send(Channel::reliable, bytes("a" + std::to_string(i))));
            REQUIRE(bob.session->send(Channel::reliable, bytes("b" + std::to_string(i))));
        }
        REQUIRE(lab.run_until(
            [&] { return alice.received().size() == 20 && bob.received().size() == 20; }));
        for (int i = 0; i < 20; ++i) {
            CHECK(bob.received()[static_cast<std::size_t>(i)] == "a" + std::to_string(i));
            CHECK(alice.received()[static_cast<std::size_t>(i)] == "b" + std::to_string(i));
        }
        CHECK(alice.last(EventType::received)->channel == Channel::reliable);
    }
    SECTION("unreliable messages arrive on the unreliable channel") {
        REQUIRE(alice.session->send(Channel::unreliable, bytes("pos 1 2")));
        REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
        CHECK(bob.received()[0] == "pos 1 2");
        CHECK(bob.last(EventType::received)->channel == Channel::unreliable);
    }
    SECTION("a clean disconnect is reported on both sides, and both stay registered") {
        REQUIRE(alice.session->send(Channel::reliable, bytes("last words")));
        alice.session->disconnect();
        REQUIRE(lab.run_until([&] {
            return alice.count(EventType::disconnected) == 1 &&
                   bob.count(EventType::disconnected) == 1;
        }));
        CHECK(bob.received() == std::vector<std::string>{"last words"});  // queued data first
        CHECK(alice.last(EventType::disconnected)->error == Error::none);
        CHECK(bob.last(EventType::disconnected)->error == Error::peer_disconnected);
        CHECK(alice.session->state() == State::registered);
        CHECK(bob.session->state() == State::registered);
        CHECK_FALSE(alice.session->send(Channel::reliable, bytes("too late")));

        SECTION("and can connect again") {
            REQUIRE(bob.session->connect("alice", Duration(3000)) == Error::none);
            REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
            CHECK(alice.count(EventType::connected) == 2);
        }
    }
    SECTION("a peer that goes silent is reported as timed out") {
        bob.frozen = true;
        REQUIRE(lab.run_until([&] { return alice.count(EventType::disconnected) == 1; }, 6000ms));
        CHECK(alice.last(EventType::disconnected)->error == Error::peer_timed_out);
        CHECK(alice.session->state() == State::registered);
    }
}

// The handshake rides the probes (PROTOCOL.md §6 step 4): each turn below is one session's
// update, which reads everything the other sent in its last turn, so each turn is one flight
// across the wire. The initiator is connected after one flight each way; the responder one
// flight later, on the acknowledgement of its VERIFY_CONNECT. The handshake that followed the
// probes took two more flights on each side.
TEST_CASE("the initiator is connected one round trip after the introduction", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));  // an open host: alice asks, and is the initiator
    REQUIRE(lab.run_until(
        [&] { return alice.count(EventType::registered) && bob.count(EventType::registered); }));
    const auto turn = [](Node& n) {
        n.session->update(netcore::Clock::now());
        netcore::Event e;
        while (n.session->poll(e)) n.events.push_back(std::move(e));
    };
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    turn(alice);  // the IntroduceRequest
    for (int i = 0; i < 100 && lab.server().counters().introduced == 0; ++i) {
        lab.server().poll(10, netcore::Clock::now());  // both Introductions go out
    }
    REQUIRE(lab.server().counters().introduced == 1);
    turn(alice);  // the Introduction: probes to every candidate, each carrying the CONNECT
    REQUIRE(alice.count(EventType::introduced) == 1);
    CHECK(alice.session->stats().probes_sent > 0);
    CHECK_FALSE(connected(alice));
    turn(bob);  // the Introduction, then alice's probe: its ProbeAck and ENet's VERIFY_CONNECT
    REQUIRE(bob.count(EventType::introduced) == 1);
    CHECK_FALSE(connected(bob));
    turn(alice);  // one round trip: the acknowledgement and the VERIFY_CONNECT
    CHECK(connected(alice));
    turn(bob);  // the acknowledgement of its VERIFY_CONNECT
    CHECK(connected(bob));
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    CHECK(alice.count(EventType::connected) == 1);
    CHECK(bob.count(EventType::connected) == 1);
    REQUIRE(alice.session->send(Channel::reliable, bytes("first")));
    REQUIRE(bob.session->send(Channel::reliable, bytes("second")));
    REQUIRE(
        lab.run_until([&] { return bob.received().size() == 1 && alice.received().size() == 1; }));
    CHECK(bob.received()[0] == "first");
    CHECK(alice.received()[0] == "second");
}

TEST_CASE("two sessions naming each other at once make exactly one connection", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until(
        [&] { return alice.count(EventType::registered) && bob.count(EventType::registered); }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(bob.session->connect("alice", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }));
    lab.run_for(300ms);
    CHECK(alice.count(EventType::connected) == 1);
    CHECK(bob.count(EventType::connected) == 1);
    CHECK(lab.server().counters().introduced == 1);
    REQUIRE(alice.session->send(Channel::reliable, bytes("hi")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
}

TEST_CASE("an unreachable server fails registration with server_unreachable", "[session]") {
    Lab lab;
    // A bound socket that never answers: a port nothing will reply from.
    ENetAddress any{};
    any.host = ENET_HOST_TO_NET_32(0x7F000001u);
    ENetSocket silent = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
    REQUIRE(enet_socket_bind(silent, &any) == 0);
    ENetAddress bound{};
    REQUIRE(enet_socket_get_address(silent, &bound) == 0);

    auto c = lab.config("alice");
    c.server = Address{0x7F000001u, bound.port};
    Node& alice = lab.add(c);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::error) == 1; }, 4000ms));
    CHECK(alice.last(EventType::error)->error == Error::server_unreachable);
    CHECK_FALSE(alice.last(EventType::error)->detail.empty());
    CHECK(alice.session->state() == State::failed);
    CHECK(alice.session->stats().registrations_sent >= 5);  // it retried
    enet_socket_destroy(silent);
}

TEST_CASE("a name held by another live session is refused with name_taken", "[session]") {
    Lab lab;
    Node& first = lab.add(lab.config("alice"));
    REQUIRE(lab.run_until([&] { return first.count(EventType::registered) == 1; }));
    Node& second = lab.add(lab.config("alice"));
    REQUIRE(lab.run_until([&] { return second.count(EventType::error) == 1; }));
    CHECK(second.last(EventType::error)->error == Error::name_taken);
    CHECK(second.session->state() == State::failed);
    CHECK(first.session->state() == State::registered);  // the valid registration is kept
}

TEST_CASE("bad arguments are refused with a sentence each and without side effects", "[session]") {
    Lab lab;
    // The error returned is the error event's, and the sentence says what was wrong.
    const auto refused = [](Node& n, Error returned, Error expected, const std::string& says) {
        CHECK(returned == expected);
        netcore::Event e;
        REQUIRE(n.session->poll(e));
        CHECK(e.type == EventType::error);
        CHECK(e.error == expected);
        CHECK_THAT(e.detail, Catch::Contains(says));
        CHECK_FALSE(n.session->poll(e));  // one event per refusal
    };
    Node bad;
    bad.session = std::make_unique<Session>(lab.config("not a name"));
    refused(bad, bad.session->start(), Error::name_invalid, "a space is not one of");
    CHECK(bad.session->state() == State::failed);
    refused(bad, bad.session->start(), Error::invalid_state, "start() was called already");
    refused(bad, bad.session->connect("bob", Duration(1000)), Error::invalid_state,
            "failed to register");

    auto no_server = lab.config("alice2");
    no_server.server = {};
    Node unset;
    unset.session = std::make_unique<Session>(no_server);
    refused(unset, unset.session->start(), Error::invalid_argument, "Config::server is not set");

    Node idle;
    idle.session = std::make_unique<Session>(lab.config("carol"));
    refused(idle, idle.session->connect("bob", Duration(1000)), Error::invalid_state,
            "call start() first");

    Node& alice = lab.add(lab.config("alice"));
    const auto ask = [&](std::string_view peer) {
        return alice.session->connect(peer, Duration(1000));
    };
    refused(alice, ask("alice"), Error::invalid_argument, "'alice' is our own name");
    refused(alice, ask(""), Error::name_invalid, "cannot be empty");
    refused(alice, ask("b/c"), Error::name_invalid, "'/' is not one of");
    refused(alice, ask(std::string(33, 'x')), Error::name_invalid, "33 characters long");
    REQUIRE(ask("bob") == Error::none);  // offline: still asking
    refused(alice, ask("dave"), Error::invalid_state, "still asking for 'bob'");
    refused(alice, alice.session->join_party("a party"), Error::name_invalid,
            "'a party' is not a valid name");
    refused(alice, alice.session->admit("eve"), Error::invalid_state, "in no party");
    CHECK_FALSE(alice.session->send(Channel::reliable, bytes("nobody to send to")));
    REQUIRE(lab.run_until([&] { return alice.count(EventType::registered) == 1; }));
    CHECK(alice.count(EventType::error) == 0);  // the registration went on
    alice.session->close();
    for (netcore::Event e; alice.session->poll(e);) {
    }  // the request for bob, cancelled
    refused(alice, ask("bob"), Error::invalid_state, "after close()");
}

TEST_CASE("a name's problem is said in one sentence, and valid names have none", "[session]") {
    CHECK(netcore::name_problem("alice").empty());
    CHECK(netcore::name_problem("A-b_c.9").empty());
    CHECK(netcore::valid_name(std::string(32, 'z')));
    CHECK_FALSE(netcore::valid_name(std::string(33, 'z')));
    CHECK(netcore::name_problem("") == "a name cannot be empty");
    CHECK(netcore::name_problem("bob!") ==
          "'bob!' is not a valid name: '!' is not one of A-Z a-z 0-9 _ . -");
    CHECK(netcore::name_problem("tab\there") ==
          "'tab\there' is not a valid name: byte 9 is not one of A-Z a-z 0-9 _ . -");
    CHECK_THAT(netcore::name_problem(std::string(50, 'n')),
               Catch::Contains("is 50 characters long; names are at most 32"));
}

TEST_CASE("malformed datagrams to a session are dropped and counted", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until(
        [&] { return alice.count(EventType::registered) && bob.count(EventType::registered); }));

    ENetSocket attacker = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
    ENetAddress to{};
    to.host = ENET_HOST_TO_NET_32(0x7F000001u);
    to.port = bob.session->local_address().port;
    std::vector<std::vector<std::uint8_t>> junk = {
        {'N', 'C', 'R', 'V'},                       // truncated header
        {'N', 'C', 'R', 'V', 9, 0x40},              // another version
        {'N', 'C', 'R', 'V', 4, 0x40, 1, 2, 3},     // truncated probe envelope
        {'N', 'C', 'R', 'V', 4, 0x06, 0, 0, 0, 0},  // an inner message sent in clear
    };
    // A well-formed probe envelope whose box nobody can open: 30 bytes of head, 60 of box.
    std::vector<std::uint8_t> probe(protocol::kProbeHead + 60, 0xA5);
    std::array<std::uint8_t, protocol::kProbeNonceSize> nonce{};
    REQUIRE(protocol::encode_probe_head(nonce, probe) == protocol::kProbeHead);
    junk.push_back(probe);
    for (auto& j : junk) {
        ENetBuffer buf;
        buf.data = j.data();
        buf.dataLength = j.size();
        REQUIRE(enet_socket_send(attacker, &to, &buf, 1) == static_cast<int>(j.size()));
    }
    REQUIRE(lab.run_until([&] { return bob.session->stats().datagrams_dropped == junk.size(); }));
    enet_socket_destroy(attacker);

    connect_pair(lab, alice, bob);  // and it still works
}

TEST_CASE("with identity keys, only the peer holding the expected key connects", "[session]") {
    const auto alice_id = netcore::crypto::generate_key_pair();
    const auto bob_id = netcore::crypto::generate_key_pair();
    const auto someone_else = netcore::crypto::generate_key_pair();
    const bool impostor = GENERATE(false, true);
    INFO((impostor ? "alice expects someone else's key of bob" : "both expect the right keys"));
    Lab lab;
    Config ac = lab.config("alice");
    ac.identity_key = alice_id.secret_key;
    ac.peer_identity = impostor ? someone_else.public_key : bob_id.public_key;
    Config bc = lab.config("bob");
    bc.identity_key = bob_id.secret_key;
    bc.peer_identity = alice_id.public_key;
    Node& alice = lab.add(ac);
    Node& bob = lab.add(bc);
    if (!impostor) {
        connect_pair(lab, alice, bob);
        REQUIRE(alice.session->send(Channel::reliable, bytes("signed, sealed")));
        REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
        return;
    }
    // To alice, the "bob" who answers is an impostor: nothing either side sends opens.
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until(
        [&] { return alice.count(EventType::error) == 1 && bob.count(EventType::error) == 1; },
        6000ms));
    for (const Node* n : {&alice, &bob}) {
        CHECK(n->last(EventType::error)->error == Error::peer_unauthenticated);
        CHECK(n->count(EventType::connected) == 0);
        CHECK(n->session->stats().unauthenticated > 0);
    }
}
