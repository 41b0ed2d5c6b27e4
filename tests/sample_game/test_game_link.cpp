// Two squares modules, each in its own host, over an in-memory PeerLink: the game's whole
// protocol (hello, 20 Hz state, interpolation, leave) without a network, in simulated time.
#include <catch2/catch.hpp>

#include <chrono>
#include <deque>
#include <memory>

#include "host/host.hpp"
#include "host/peer_link.hpp"
#include "modules/net/lobby.hpp"
#include "modules/squares/squares_module.hpp"

namespace {

using host::Clock;

/// One end of a wire: send() queues for the other end, deliver() publishes what arrived.
class MemoryLink final : public host::Module, public host::PeerLink {
  public:
    [[nodiscard]] std::string_view name() const override { return "memory_link"; }
    void start(host::Host& h) override {
        host_ = &h;
        h.services().provide<host::PeerLink>(this);
    }
    bool send(host::Delivery d, std::span<const std::uint8_t> bytes) override {
        if (other == nullptr || !up) return false;
        if (d == host::Delivery::reliable) ++reliable_sent;
        other->inbox.push_back({d, {bytes.begin(), bytes.end()}});
        return true;
    }
    [[nodiscard]] bool connected() const override { return up; }
    void update(const host::FrameTime&) override {
        while (!inbox.empty()) {
            host::PeerData data = std::move(inbox.front());
            inbox.pop_front();
            host_->bus().publish(data);
        }
    }
    void join(const std::string& me, const std::string& peer) {
        up = true;
        host_->bus().publish(host::PeerJoined{me, peer});
    }

    MemoryLink* other = nullptr;
    std::deque<host::PeerData> inbox;
    bool up = false;
    int reliable_sent = 0;

  private:
    host::Host* host_ = nullptr;
};

class NullPlatform final : public host::Platform {
  public:
    bool pump(host::Input&) override { return true; }
    [[nodiscard]] bool has_ui() const override { return false; }
    void begin_frame() override {}
    host::Canvas& canvas() override { return canvas_; }
    void end_frame(Clock::time_point) override {}

  private:
    class C final : public host::Canvas {
      public:
        [[nodiscard]] host::Vec2 size() const override { return {800, 600}; }
        void fill_rect(const host::Rect&, host::Color) override {}
        void outline_rect(const host::Rect&, host::Color, float) override {}
        void text(host::Vec2, host::Color, std::string_view) override {}
    };
    C canvas_;
};

struct Player {
    host::Host host;
    MemoryLink* link = nullptr;
    squares::SquaresModule* game = nullptr;

    explicit Player(host::Color color) {
        link = static_cast<MemoryLink*>(&host.add(std::make_unique<MemoryLink>()));
        game = static_cast<squares::SquaresModule*>(
            &host.add(std::make_unique<squares::SquaresModule>(squares::SquaresOptions{color})));
    }
};

}  // namespace

TEST_CASE("Each player sees the other's name, colour and smooth movement", "[sample][game]") {
    Player alice({200, 10, 10, 255});
    Player bob({10, 10, 200, 255});
    alice.link->other = bob.link;
    bob.link->other = alice.link;
    NullPlatform platform;
    const Clock::time_point t0{};
    alice.host.start(t0);
    bob.host.start(t0);
    alice.link->join("alice", "bob");
    bob.link->join("bob", "alice");
    CHECK(alice.link->reliable_sent == 1);  // the Hello

    // Alice holds "right" for one second of 60 Hz frames; Bob stands still.
    alice.host.input().move_x = 1.0f;
    for (int i = 1; i <= 60; ++i) {
        const auto now = t0 + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(i / 60.0));
        alice.host.frame(now, platform);
        bob.host.frame(now, platform);
    }

    const host::Vec2 start = squares::spawn_point("alice", "bob");
    CHECK(alice.game->local_position().x == Approx(start.x + squares::kSpeed));
    const squares::PeerView& seen = bob.game->peer();
    CHECK(seen.hello);
    CHECK(seen.name == "alice");
    CHECK(seen.color == host::Color{200, 10, 10, 255});
    CHECK(seen.updates == 20);  // 60 ticks / kTicksPerState
    REQUIRE(seen.last.has_value());
    CHECK(seen.last->x == Approx(start.x + squares::kSpeed));
    CHECK(seen.farthest >= squares::SquaresModule::kMovedThreshold);

    // Bob draws Alice in the past, between updates: behind her, but well on the way.
    const auto drawn = bob.game->remote_position();
    REQUIRE(drawn.has_value());
    CHECK(drawn->x < seen.last->x);
    CHECK(drawn->x > start.x + squares::kSpeed / 2.0f);
    CHECK(drawn->y == Approx(start.y));

    // Bob stood still: Alice got his updates (his 20th is still in flight: each frame runs
    // Alice's host before Bob's), and he did not move.
    CHECK(alice.game->peer().updates == 19);
    CHECK(alice.game->peer().farthest == Approx(0.0f));

    // Alice leaves: Bob hides her square at once and the host tells both games it ended.
    alice.host.bus().publish(host::PeerLeaving{});
    bob.host.frame(t0 + std::chrono::seconds(2), platform);
    CHECK(bob.game->peer().left);
    bob.host.bus().publish(host::PeerLeft{"alice left the game."});
    CHECK_FALSE(bob.game->in_game());

    alice.host.shutdown();
    bob.host.shutdown();
    CHECK(bob.host.summary().ok());          // it saw Alice move
    CHECK_FALSE(alice.host.summary().ok());  // it never saw Bob move
    CHECK(alice.host.summary().line().find("remote_moved=no") != std::string::npos);
}

TEST_CASE("Keys do not move the square while a text field has the keyboard", "[sample][game]") {
    MemoryLink sink;  // declared first: it must outlive alice, whose shutdown sends Leave
    Player alice({1, 2, 3, 255});
    alice.link->other = &sink;
    NullPlatform platform;
    alice.host.start(Clock::time_point{});
    alice.link->join("alice", "bob");
    alice.host.input().move_x = 1.0f;
    alice.host.input().keyboard_captured = true;
    alice.host.frame(Clock::time_point{} + std::chrono::milliseconds(100), platform);
    CHECK(alice.game->local_position() == squares::spawn_point("alice", "bob"));
}

TEST_CASE("The lobby explains why a name is refused, agreeing with netcore", "[sample][lobby]") {
    CHECK(net::name_problem("alice").empty());
    CHECK(net::name_problem("a.b-c_9").empty());
    CHECK(net::name_problem("") == "enter a name");
    CHECK(net::name_problem(std::string(33, 'x')) == "too long: at most 32 characters");
    CHECK(net::name_problem(std::string(32, 'x')).empty());
    CHECK(net::name_problem("al ice") == "a space is not allowed: use letters, digits, _ . -");
    CHECK(net::name_problem("al!ce") == "'!' is not allowed: use letters, digits, _ . -");
    CHECK(net::peer_problem("", "alice").empty());  // wait to be reached
    CHECK(net::peer_problem("alice", "alice") == "that is your own name");
    CHECK(net::peer_problem("b o b", "alice") ==
          "a space is not allowed: use letters, digits, _ . -");
}

TEST_CASE("The lobby takes an IPv4 literal without a look-up, 7777 by default", "[sample][lobby]") {
    const auto with_port = net::literal_server("127.0.0.1:9000");
    REQUIRE(with_port.has_value());
    CHECK(with_port->to_string() == "127.0.0.1:9000");
    const auto without = net::literal_server("127.0.0.1");
    REQUIRE(without.has_value());
    CHECK(without->port == 7777);
    CHECK_FALSE(net::literal_server("rendezvous.example").has_value());
}
