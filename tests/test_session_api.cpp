// The session's edges as a game meets them (issue 14): closing, teardown timings, what a peer
// that went quiet looks like, backpressure, receiving without allocating, the log hook.
#include <poll.h>
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "allocation_counter.hpp"
#include "attacker.hpp"
#include "loopback.hpp"

using namespace netcore;
using namespace loopback;
using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds since(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

}  // namespace

TEST_CASE("close() says goodbye to the peer and closes once it is acknowledged", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);
    REQUIRE(alice.session->send(Channel::reliable, bytes("last words")));

    const TimePoint asked = Clock::now();
    alice.session->close();
    CHECK(alice.session->state() == State::closing);
    REQUIRE(lab.run_until([&] { return alice.session->state() == State::closed; }));
    INFO("closed after " << since(asked).count() << " ms");
    CHECK(since(asked) < 1000ms);  // the goodbye's round trip on loopback, not the linger
    REQUIRE(lab.run_until([&] { return bob.count(EventType::disconnected) == 1; }));
    CHECK(bob.last(EventType::disconnected)->error == Error::peer_disconnected);
    CHECK(bob.received() == std::vector<std::string>{"last words"});
    REQUIRE(alice.count(EventType::disconnected) == 1);
    CHECK(alice.last(EventType::disconnected)->error == Error::none);
    // Unregistered: bob's next request for alice finds nobody.
    REQUIRE(bob.session->connect("alice", Duration(300)) == Error::none);
    REQUIRE(lab.run_until([&] { return bob.count(EventType::error) == 1; }));
    CHECK(bob.last(EventType::error)->error == Error::peer_not_online);
}

TEST_CASE("close() from a peer that is gone closes after Config::close_linger", "[session]") {
    Lab lab;
    auto config = lab.config("alice");
    config.close_linger = Duration(600);
    Node& alice = lab.add(config);
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);
    bob.frozen = true;

    const TimePoint asked = Clock::now();
    alice.session->close();
    REQUIRE(lab.run_until([&] { return alice.session->state() == State::closed; }));
    INFO("closed after " << since(asked).count() << " ms");
    CHECK(since(asked) >= 600ms);  // it waited for the acknowledgement that never came
    CHECK(since(asked) < 1500ms);
    CHECK(alice.session->peers().empty());
}

TEST_CASE("a silent peer's last_heard grows, and it times out after peer_timeout, not before",
          "[session]") {
    Lab lab;  // peer_timeout 1500 ms (Lab::config)
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);
    const PeerId to_bob = alice.last(EventType::connected)->connection;
    lab.run_for(100ms);
    REQUIRE(alice.session->peer(to_bob));
    CHECK(alice.session->peer(to_bob)->last_heard < 600ms);  // ENet pings every 500 ms

    bob.frozen = true;
    // When alice last heard bob (his last ping or acknowledgement, up to 500 ms ago).
    const TimePoint silent = Clock::now() - alice.session->peer(to_bob)->last_heard;
    REQUIRE(lab.run_until([&] {
        const auto p = alice.session->peer(to_bob);
        return p && p->last_heard >= 1000ms;
    }));
    CHECK(alice.session->stats().last_heard >= 1000ms);
    CHECK(alice.count(EventType::disconnected) == 0);
    REQUIRE(lab.run_until([&] { return alice.count(EventType::disconnected) == 1; }, 6000ms));
    const auto after = since(silent);
    INFO("timed out " << after.count() << " ms after bob went silent");
    CHECK(alice.last(EventType::disconnected)->error == Error::peer_timed_out);
    // peer_timeout after bob was last heard (before issue 14: ENet's timeout, at half of it, or
    // a doubled re-send interval past it: ~1 s, or ~3 s).
    // last_heard counts to alice's last update, so `silent` may be late by a frame (long, on a
    // loaded machine); before the fix this came at ~1.0-1.3 s.
    CHECK(after >= 1500ms - 150ms);
    CHECK(after < 1500ms + 500ms);
}

TEST_CASE("queued_bytes counts what the peer has not acknowledged yet", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);
    const PeerId to_bob = alice.last(EventType::connected)->connection;
    lab.run_until([&] { return alice.session->peer(to_bob)->queued_bytes == 0; });
    REQUIRE(alice.session->peer(to_bob)->queued_bytes == 0);

    const std::string message(1000, 'm');
    for (int i = 0; i < 10; ++i) REQUIRE(alice.session->send(Channel::reliable, bytes(message)));
    CHECK(alice.session->peer(to_bob)->queued_bytes == 10 * 1000);
    REQUIRE(lab.run_until([&] { return bob.received().size() == 10; }));
    REQUIRE(lab.run_until([&] { return alice.session->peer(to_bob)->queued_bytes == 0; }));
}

TEST_CASE(
    "a channel the session did not open is refused with an error event; a peer that "
    "opened fewer channels gets none of the others",
    "[session][channels]") {
    Lab lab;
    auto ca = lab.config("alice");
    ca.channels = {Delivery::reliable, Delivery::sequenced, Delivery::reliable,
                   Delivery::unsequenced};
    Node& alice = lab.add(ca);
    Node& bob = lab.add(lab.config("bob"));  // the default two
    connect_pair(lab, alice, bob);

    // Bob opened two: channel 3 is a mistake in his game, said once per call.
    CHECK_FALSE(bob.session->send(Channel{3}, bytes("x")));
    REQUIRE(bob.count(EventType::error) == 0);  // events arrive at the next poll
    lab.step();
    REQUIRE(bob.count(EventType::error) == 1);
    CHECK(bob.last(EventType::error)->error == Error::invalid_argument);
    CHECK(bob.last(EventType::error)->detail ==
          "send(): channel 3 is not open (Config::channels opens 2)");
    CHECK(bob.session->state() == State::connected);  // nothing else changes

    // Alice opened four, bob two: the connection has two, and a send beyond them fails.
    CHECK_FALSE(alice.session->send(Channel{3}, bytes("beyond bob's")));
    CHECK_FALSE(alice.session->send(Channel{2}, bytes("beyond bob's")));
    REQUIRE(alice.session->send(Channel::unreliable, bytes("within")));
    REQUIRE(lab.run_until([&] { return bob.received().size() == 1; }));
    CHECK(bob.received() == std::vector<std::string>{"within"});
    CHECK(bob.last(EventType::received)->channel == Channel::unreliable);
    CHECK(alice.count(EventType::error) == 0);
}

TEST_CASE("start() refuses no channels, and more than ENet's 255", "[session][channels]") {
    for (const std::size_t count : {std::size_t{0}, std::size_t{256}}) {
        Lab lab;
        auto c = lab.config("alice");
        c.channels.assign(count, Delivery::reliable);
        Node& alice = lab.add(c);
        CHECK(alice.session->state() == State::failed);
        lab.step();
        REQUIRE(alice.count(EventType::error) == 1);
        CHECK(alice.last(EventType::error)->error == Error::invalid_argument);
        CHECK(alice.last(EventType::error)->detail ==
              "Config::channels: " + std::to_string(count) + " channels; open 1 to 255");
    }
}

TEST_CASE("a game that polls into one Event receives messages without allocating", "[session]") {
    Lab lab;
    Node& alice = lab.add(lab.config("alice"));
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);
    bob.frozen = true;  // driven here, as a game's frame would
    Event event;
    std::size_t received = 0;
    std::size_t allocations = 0;
    const std::string message(200, 'p');
    const auto frames = [&](std::size_t until, bool count) {
        return lab.run_until([&] {
            {
                test_support::CountAllocations counter;
                bob.session->update(Clock::now());
                while (bob.session->poll(event)) received += event.type == EventType::received;
                if (count) allocations += counter.count();
            }
            if (received >= until) return true;
            REQUIRE(alice.session->send(Channel::unreliable, bytes(message)));
            return false;
        });
    };
    REQUIRE(frames(50, false));  // the buffers grow to the message's size
    REQUIRE(frames(250, true));
    CHECK(event.data.size() == 200);
    INFO(allocations << " allocations for 200 messages");
    CHECK(allocations == 0);
}

TEST_CASE("the log hook gets every event but received, at its level", "[session]") {
    Lab lab;
    std::vector<std::pair<LogLevel, std::string>> lines;
    auto config = lab.config("alice");
    config.log = [&](LogLevel level, std::string_view line) { lines.emplace_back(level, line); };
    Node& alice = lab.add(config);
    Node& bob = lab.add(lab.config("bob"));
    connect_pair(lab, alice, bob);
    REQUIRE(bob.session->send(Channel::reliable, bytes("hello")));
    REQUIRE(lab.run_until([&] { return alice.received().size() == 1; }));
    CHECK(alice.session->connect("bob!", Duration(100)) == Error::name_invalid);

    const auto logged = [&](LogLevel level, const std::string& text) {
        for (const auto& [l, line] : lines)
            if (l == level && line.find(text) != std::string::npos) return true;
        return false;
    };
    CHECK(logged(LogLevel::debug, "registered (public address 127.0.0.1:"));
    CHECK(logged(LogLevel::info, "connected to bob at 127.0.0.1:"));
    CHECK(logged(LogLevel::error, "'bob!' is not a valid name"));
    for (const auto& [l, line] : lines) CHECK(line.find("received") == std::string::npos);
}

TEST_CASE("socket_handle is the bound socket, readable when a datagram waits for update()",
          "[session]") {
    Lab lab;
    Session idle(lab.config("idle"));
    CHECK(idle.socket_handle() == -1);  // not started

    Node& alice = lab.add(lab.config("alice"));
    const int fd = alice.session->socket_handle();
    REQUIRE(fd >= 0);
    sockaddr_in bound{};
    socklen_t size = sizeof bound;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size) == 0);
    CHECK(ntohs(bound.sin_port) == alice.session->local_address().port);

    // Nothing waits: not readable. A datagram to it: readable until update() reads it.
    pollfd p{fd, POLLIN, 0};
    lab.run_until([&] { return alice.count(EventType::registered) == 1; });
    CHECK(poll(&p, 1, 0) == 0);
    attacker::Udp sender;
    const std::array<std::uint8_t, 4> junk{1, 2, 3, 4};
    sender.send(alice.session->local_address(), junk);
    p.revents = 0;
    REQUIRE(poll(&p, 1, 2000) == 1);
    CHECK((p.revents & POLLIN) != 0);
    alice.session->update();
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 0);

    alice.session->close_now();
    CHECK(alice.session->socket_handle() == -1);
}
