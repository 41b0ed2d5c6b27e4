// Relay-only introductions end to end (PROTOCOL.md §4.14, docs/RELAY.md): a player that hides
// its address (Config::hide_address) and a peer that does not, a real rendezvous granting TURN
// credentials and a real coturn on loopback. What each side's socket sent and received is
// captured on lo (AF_PACKET: root only, exit 77 otherwise): neither side ever hears from the
// other's host socket, and no TURN message names the other's host address. Exits 77 (skipped)
// when coturn is not installed.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "attacker.hpp"
#include "coturn.hpp"
#include "loopback.hpp"
#include "relay_lab.hpp"
#include "stun_message.hpp"

using namespace netcore;
using coturn_test::Coturn;
using loopback::bytes;
using loopback::connected;
using loopback::Lab;
using loopback::Node;
using relay_lab::granting;
using relay_lab::in_relay_range;
using namespace std::chrono_literals;
namespace stun = netcore::detail::stun;

namespace {

using attacker::LoCapture;

// Every UDP datagram on lo from or to one of `ports`: what each side's socket really sent and
// received. Not root: skipped (exit 77).
std::unique_ptr<LoCapture> capture_ports(std::vector<std::uint16_t> ports) {
    try {
        return std::make_unique<LoCapture>([ports](std::uint16_t from, std::uint16_t to) {
            const auto watched = [&](std::uint16_t p) {
                return std::find(ports.begin(), ports.end(), p) != ports.end();
            };
            return watched(from) || watched(to);
        });
    } catch (const std::runtime_error&) {
        std::fprintf(stderr, "cannot capture on lo (needs root): skipped\n");
        std::exit(77);
    }
}

Config relaying(const Lab& lab, const std::string& name) {
    Config c = lab.config(name);
    c.punch_timeout = Duration(8000);
    c.connect_timeout = Duration(5000);
    return c;
}

// What the capture shows about one side (`me`, the other side `other`).
struct Findings {
    int strays = 0;           // datagrams between our socket and anything but coturn / rendezvous
    int peer_host_named = 0;  // TURN messages naming the other's host address as a peer
    int outside_relay = 0;    // TURN messages naming a peer outside coturn's relay range
    int through_ours = 0;     // Send indications and ChannelData we sent to coturn
    int relayed_to_us = 0;    // Data indications and ChannelData coturn sent us
};

Findings examine(const LoCapture& capture, const Coturn& coturn, std::uint16_t rendezvous,
                 std::uint16_t me, std::uint16_t other) {
    Findings f;
    const auto names_peer = [&](const stun::Message& m) {
        const auto peer = m.xor_address(stun::Attr::xor_peer_address);
        // A permission names an IP only (port 0), and every IP here is 127.0.0.1: the ports of
        // the other messages are what tell a host address from a relayed one on loopback.
        if (!peer || m.method() == stun::Method::create_permission) return;
        if (peer->port == other) ++f.peer_host_named;
        if (!in_relay_range(coturn, *peer)) ++f.outside_relay;
    };
    for (const auto& d : capture.captured) {
        const bool sent = d.from == me;
        const bool received = d.to == me;
        if (!sent && !received) continue;
        const std::uint16_t there = sent ? d.to : d.from;
        if (there != coturn.address().port && there != rendezvous) {
            ++f.strays;
            continue;
        }
        if (there != coturn.address().port) continue;
        if (stun::looks_like_channel_data(d.bytes)) {
            ++(sent ? f.through_ours : f.relayed_to_us);
            continue;
        }
        stun::Message m;
        if (stun::parse(d.bytes, m) != stun::ParseError::ok) continue;
        names_peer(m);
        if (sent && m.method() == stun::Method::send) ++f.through_ours;
        if (received && m.method() == stun::Method::data) ++f.relayed_to_us;
    }
    return f;
}

}  // namespace

TEST_CASE(
    "a player who hides its address and its peer connect through coturn, and neither "
    "side's host address ever reaches the other",
    "[relay][hidden]") {
    // Who hides: the requester, the one asked for, or (the control) nobody, both sides relaying
    // the plain way (Config::relay_only): each then sends from its host socket straight to the
    // peer's relayed address, which the checks below must catch.
    const int hider = GENERATE(0, 1, 2);
    const bool control = hider == 2;
    INFO((hider == 0 ? "alice hides" : hider == 1 ? "bob hides" : "control: plain relay_only"));
    Coturn coturn({});
    Lab lab(granting(coturn));
    Config ca = relaying(lab, "alice");
    Config cb = relaying(lab, "bob");
    ca.hide_address = hider == 0;
    cb.hide_address = hider == 1;
    ca.relay_only = cb.relay_only = control;
    Node& alice = lab.add(ca);
    Node& bob = lab.add(cb);
    const std::uint16_t a_port = alice.session->local_address().port;
    const std::uint16_t b_port = bob.session->local_address().port;
    REQUIRE(a_port != 0);
    REQUIRE(b_port != 0);
    const auto captured = capture_ports({a_port, b_port});
    LoCapture& capture = *captured;
    lab.each_step.push_back([&] { capture.poll(); });
    INFO(coturn.tail());

    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 10000ms));

    for (Node* n : {&alice, &bob}) {
        // The introduction named no address of the peer's ...
        const auto* intro = n->last(EventType::introduced);
        REQUIRE(intro != nullptr);
        CHECK(intro->address.empty() != control);
        // ... and the session knows the peer only by its relayed address.
        const auto* e = n->last(EventType::connected);
        REQUIRE(e != nullptr);
        CHECK(e->path == Path::relay);
        CHECK(in_relay_range(coturn, e->address));
        CHECK(in_relay_range(coturn, n->session->peer_address()));
    }

    // Reliable messages both ways, in order, larger than a probe.
    std::vector<std::string> to_bob;
    std::vector<std::string> to_alice;
    for (int i = 0; i < 100; ++i) {
        to_bob.push_back("to bob " + std::to_string(i) + std::string(700, 'b'));
        to_alice.push_back("to alice " + std::to_string(i) + std::string(700, 'a'));
        REQUIRE(alice.session->send(Channel::reliable, bytes(to_bob.back())));
        REQUIRE(bob.session->send(Channel::reliable, bytes(to_alice.back())));
    }
    REQUIRE(lab.run_until(
        [&] { return bob.received().size() == 100 && alice.received().size() == 100; }, 10000ms));
    CHECK(bob.received() == to_bob);
    CHECK(alice.received() == to_alice);

    // A goodbye through the relays is a goodbye.
    alice.session->disconnect();
    REQUIRE(lab.run_until([&] { return bob.count(EventType::disconnected) == 1; }));
    CHECK(bob.last(EventType::disconnected)->error == Error::peer_disconnected);
    lab.run_for(100ms);
    capture.poll();

    const std::uint16_t rendezvous = lab.server_address().port;
    const Findings fa = examine(capture, coturn, rendezvous, a_port, b_port);
    const Findings fb = examine(capture, coturn, rendezvous, b_port, a_port);
    INFO("alice: strays " << fa.strays << ", named bob's host " << fa.peer_host_named
                          << ", through hers " << fa.through_ours << ", relayed to her "
                          << fa.relayed_to_us);
    INFO("bob: strays " << fb.strays << ", named alice's host " << fb.peer_host_named
                        << ", through his " << fb.through_ours << ", relayed to him "
                        << fb.relayed_to_us);
    // The capture saw the session's traffic at all: it came to each side through coturn.
    CHECK(fa.relayed_to_us >= 100);
    CHECK(fb.relayed_to_us >= 100);
    if (control) {
        // The plain relay path: each side sends from its host socket to the peer's relay, so
        // the peer's TURN server hands the peer its host address in every Data indication.
        CHECK(fa.strays > 0);
        CHECK(fb.strays > 0);
        CHECK(fa.peer_host_named + fb.peer_host_named > 0);
        return;
    }
    // Each side talked to coturn and the rendezvous only, and sent through its own allocation.
    CHECK(fa.strays == 0);
    CHECK(fb.strays == 0);
    CHECK(fa.through_ours >= 100);
    CHECK(fb.through_ours >= 100);
    // No TURN message either side sent or received names the other's host address: every peer
    // address in them (Data indications, Send indications, permissions, channel bindings) is a
    // relayed one.
    CHECK(fa.peer_host_named == 0);
    CHECK(fb.peer_host_named == 0);
    CHECK(fa.outside_relay == 0);
    CHECK(fb.outside_relay == 0);
}

TEST_CASE("a relay-only introduction without a relay fails at once, saying who hides",
          "[relay][hidden]") {
    Lab lab;  // no TURN configured: the rendezvous introduces, but grants no relay
    Config ca = lab.config("alice");
    ca.hide_address = true;
    Node& alice = lab.add(ca);
    Node& bob = lab.add(lab.config("bob"));
    REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
    REQUIRE(bob.session->connect("alice", Duration(5000)) == Error::none);
    // Well before punch_timeout (3 s here): the error comes with the introduction.
    REQUIRE(lab.run_until(
        [&] { return alice.count(EventType::error) == 1 && bob.count(EventType::error) == 1; },
        1000ms));
    const auto* at_bob = bob.last(EventType::error);
    CHECK(at_bob->error == Error::punch_failed);
    CHECK(at_bob->detail.find("grants no relay, and alice hides its address") != std::string::npos);
    const auto* at_alice = alice.last(EventType::error);
    CHECK(at_alice->detail.find("grants no relay, and this player (Config::hide_address) hides") !=
          std::string::npos);
    CHECK(bob.count(EventType::introduced) == 0);
    // Said once, not for every repeat of the introduction; and both are back to registered.
    lab.run_for(500ms);
    CHECK(alice.count(EventType::error) == 1);
    CHECK(bob.count(EventType::error) == 1);
    CHECK(alice.session->state() == State::registered);
    CHECK(bob.session->state() == State::registered);
}

// Not run by default (`netcore_hidden_tests "[.latency]"`): the round trip of a reliable message
// and its answer, direct, through the plain relay path (relay_only) and the hidden one, on
// loopback with one coturn. docs/RELAY.md quotes it.
TEST_CASE("latency: a message and its answer, direct, relayed and hidden", "[.latency]") {
    Coturn coturn({});
    for (const int mode : {0, 1, 2}) {
        const bool hidden = mode == 2;
        const char* name = mode == 0 ? "direct" : mode == 1 ? "plain relay" : "hidden";
        Lab lab(granting(coturn));
        Config ca = relaying(lab, "alice");
        Config cb = relaying(lab, "bob");
        ca.relay_only = cb.relay_only = mode == 1;
        ca.hide_address = hidden;
        Node& alice = lab.add(ca);
        Node& bob = lab.add(cb);
        REQUIRE(lab.run_until([&] { return bob.count(EventType::registered) == 1; }));
        REQUIRE(alice.session->connect("bob", Duration(5000)) == Error::none);
        REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, 10000ms));
        lab.run_for(300ms);
        // A tight loop (no sleep between updates): the time is the path's, not the frame's.
        std::vector<double> rtts;
        for (int i = 0; i < 300; ++i) {
            const auto start = Clock::now();
            REQUIRE(alice.session->send(Channel::reliable, bytes("ping")));
            bool answered = false;
            while (!answered && Clock::now() - start < 1s) {
                const auto now = Clock::now();
                lab.server().poll(0, now);
                alice.session->update(now);
                bob.session->update(now);
                Event e;
                while (bob.session->poll(e))
                    if (e.type == EventType::received)
                        REQUIRE(bob.session->send(Channel::reliable, bytes("pong")));
                while (alice.session->poll(e)) answered |= e.type == EventType::received;
            }
            REQUIRE(answered);
            rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
        std::sort(rtts.begin(), rtts.end());
        WARN(name << ": median " << rtts[rtts.size() / 2] << " us, p90 "
                  << rtts[rtts.size() * 9 / 10] << " us over " << rtts.size());
    }
}
