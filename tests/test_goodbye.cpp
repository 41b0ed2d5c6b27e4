// Goodbyes under loss (issue 13 item 5): the side that stays learns of a graceful goodbye as a
// goodbye (peer_disconnected) within the leaver's bound, whatever the network drops, and the
// leaver's disconnect() ends within that bound too. Real sessions, real ENet and a real
// rendezvous on loopback; the loss comes from tests/lossy_send.cpp, which drops datagrams
// between the two players' sockets on their way into the kernel.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "loopback.hpp"
#include "lossy_send.hpp"

using namespace netcore;
using loopback::bytes;
using loopback::connect_pair;
using loopback::Lab;
using loopback::Node;
using namespace std::chrono_literals;

namespace {

// The leaver's bound (connection.cpp: kGoodbyeBound, 2000 ms) and a margin for a busy machine.
constexpr auto kBound = 2500ms;

struct Outcome {
    std::optional<Error> bob;  // the side that stays (or, both leaving, the other leaver)
    std::chrono::milliseconds bob_after{0};
    std::optional<Error> alice;  // the leaver
    std::chrono::milliseconds alice_after{0};
};

enum class Leaving { alice, both };

struct Players {
    Node& alice;
    Node& bob;
};

// alice and bob on `lab`, connected, with the library's default peer_timeout (10 s).
Players connected_pair(Lab& lab) {
    Config ca = lab.config("alice");
    Config cb = lab.config("bob");
    ca.peer_timeout = cb.peer_timeout = Duration(10000);  // the library's default
    Node& alice = lab.add(ca);
    Node& bob = lab.add(cb);
    connect_pair(lab, alice, bob);
    return {alice, bob};
}

// One pair on loopback; once connected, `rule(alice_port, bob_port)` is armed, alice queues
// `lines` reliable lines and says goodbye (bob too, with Leaving::both). Runs until both
// reported the end, or 15 s (longer than the 10 s peer_timeout, so a timeout shows as one).
Outcome leave(const std::function<lossy::Rule(std::uint16_t, std::uint16_t)>& rule, int lines,
              Leaving who, bool bob_dead = false) {
    Lab lab;
    const Players players = connected_pair(lab);
    Node& alice = players.alice;
    Node& bob = players.bob;
    lossy::Loss loss(rule(alice.session->local_address().port, bob.session->local_address().port));
    for (int i = 0; i < lines; ++i)
        REQUIRE(alice.session->send(Channel::reliable, bytes("line " + std::to_string(i))));
    bob.frozen = bob_dead;
    const TimePoint left = Clock::now();
    alice.session->disconnect();
    if (who == Leaving::both) bob.session->disconnect();
    Outcome o;
    const auto note = [&](const Node& n, std::optional<Error>& error,
                          std::chrono::milliseconds& after) {
        if (error || n.last(EventType::disconnected) == nullptr) return;
        error = n.last(EventType::disconnected)->error;
        after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - left);
    };
    lab.run_until(
        [&] {
            note(alice, o.alice, o.alice_after);
            note(bob, o.bob, o.bob_after);
            return o.alice && (bob_dead || o.bob);
        },
        15000ms);
    return o;
}

std::string text(const std::optional<Error>& e, std::chrono::milliseconds after) {
    return e ? std::string(to_string(*e)) + " after " + std::to_string(after.count()) + " ms"
             : std::string("nothing");
}

// 20 pairs under 10% loss each way (seeds first_seed and up), each leaving as leave() does
// with `lines` lines: bob ends with `bob_ends` and alice with none, both within the bound.
void twenty_pairs_under_loss(std::uint32_t first_seed, int lines, Leaving who, Error bob_ends) {
    for (int round = 0; round < 20; ++round) {
        const auto seed = first_seed + static_cast<std::uint32_t>(round);
        const Outcome o =
            leave([&](std::uint16_t a, std::uint16_t b) { return lossy::between(a, b, 0.1, seed); },
                  lines, who);
        INFO("round " << round << ": bob " << text(o.bob, o.bob_after) << ", alice "
                      << text(o.alice, o.alice_after));
        CHECK(o.bob == bob_ends);
        CHECK(o.bob_after <= kBound);
        CHECK(o.alice == Error::none);
        CHECK(o.alice_after <= kBound);
    }
}

}  // namespace

TEST_CASE(
    "a goodbye said while a line is held back by a dead path: once the path is back, the "
    "other side hears the line and the goodbye, within the bound",
    "[goodbye]") {
    Lab lab;
    const Players players = connected_pair(lab);
    Node& alice = players.alice;
    Node& bob = players.bob;
    // Nothing from alice reaches bob for 2.9 s. Her line is re-sent meanwhile (ENet doubles
    // its wait each time: ~0.1, 0.3, 0.6, 1.4, 2.8 s), so when she says goodbye 2.5 s in, the
    // line has waited that long for an acknowledgement, and the DISCONNECT waits behind it.
    lossy::Loss loss(lossy::blackout_from(alice.session->local_address().port,
                                          bob.session->local_address().port, 2900ms));
    REQUIRE(alice.session->send(Channel::reliable, bytes("last words")));
    lab.run_for(2500ms);  // the scenario's time, not a wait for a result
    REQUIRE(loss.dropped() > 0);
    const TimePoint left = Clock::now();
    alice.session->disconnect();
    REQUIRE(lab.run_until(
        [&] {
            return alice.last(EventType::disconnected) != nullptr &&
                   bob.last(EventType::disconnected) != nullptr;
        },
        20000ms));
    const auto bob_after =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - left);
    CHECK(bob.received() == std::vector<std::string>{"last words"});
    CHECK(bob.last(EventType::disconnected)->error == Error::peer_disconnected);
    CHECK(bob_after <= kBound);
    CHECK(alice.last(EventType::disconnected)->error == Error::none);
}

TEST_CASE(
    "under 10% loss each way, the side that stays reports every goodbye as a goodbye, "
    "within the bound (20 pairs)",
    "[goodbye]") {
    twenty_pairs_under_loss(0, 20, Leaving::alice, Error::peer_disconnected);
}

TEST_CASE(
    "under 10% loss each way, two sides that leave at once both end within the bound "
    "(20 pairs)",
    "[goodbye]") {
    twenty_pairs_under_loss(100, 1, Leaving::both, Error::none);
}

TEST_CASE("disconnect() from a peer that is already gone ends within the bound", "[goodbye]") {
    const Outcome o =
        leave([](std::uint16_t, std::uint16_t) { return lossy::Rule(); }, 1, Leaving::alice, true);
    INFO("alice " << text(o.alice, o.alice_after));
    CHECK(o.alice == Error::none);
    CHECK(o.alice_after <= kBound);
    CHECK(o.alice_after >= 1900ms);  // it waited for the acknowledgement that never came
}
