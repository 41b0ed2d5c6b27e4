// Two squares modules, each in its own host, over an in-memory PeerLink: the game's whole
// protocol (hello, 20 Hz state, interpolation, leave) without a network, in simulated time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/host.hpp"
#include "host/peer_link.hpp"
#include "modules/net/lobby.hpp"
#include "modules/squares/squares_module.hpp"

namespace {

using host::Clock;

/// One player's end of an in-memory network: send_to() queues for that peer, send() for every
/// peer, and update() publishes what arrived, named by this end's handle for its sender.
class MemoryLink final : public host::Module, public host::PeerLink {
  public:
    [[nodiscard]] std::string_view name() const override { return "memory_link"; }
    void start(host::Host& h) override {
        host_ = &h;
        h.services().provide<host::PeerLink>(this);
    }
    bool send(host::Delivery d, std::span<const std::uint8_t> bytes) override {
        bool any = false;
        for (const auto& [handle, other] : peers_) any = send_to(handle, d, bytes) || any;
        return any;
    }
    bool send_to(host::PeerHandle peer, host::Delivery d,
                 std::span<const std::uint8_t> bytes) override {
        const auto it = peers_.find(peer);
        if (it == peers_.end()) return false;
        if (d == host::Delivery::reliable) ++reliable_sent;
        MemoryLink* other = it->second;
        other->inbox.push_back({other->handle_of(this), d, {bytes.begin(), bytes.end()}});
        return true;
    }
    [[nodiscard]] bool connected() const override { return !peers_.empty(); }
    void update(const host::FrameTime&) override {
        while (!inbox.empty()) {
            host::PeerData data = std::move(inbox.front());
            inbox.pop_front();
            host_->bus().publish(data);
        }
    }
    /// A connection to `other`: it gets the next handle.
    void attach(MemoryLink& other) { peers_[next_handle_++] = &other; }
    /// The connection to `other` is up: PeerJoined is published.
    void announce(const MemoryLink& other, const std::string& me, const std::string& peer) {
        host_->bus().publish(host::PeerJoined{me, peer, handle_of(&other)});
    }
    void drop(MemoryLink& other, const std::string& reason) {
        const host::PeerHandle handle = handle_of(&other);
        peers_.erase(handle);
        host_->bus().publish(host::PeerLeft{handle, reason});
    }
    [[nodiscard]] host::PeerHandle handle_of(const MemoryLink* other) const {
        for (const auto& [handle, link] : peers_) {
            if (link == other) return handle;
        }
        return 0;
    }

    std::deque<host::PeerData> inbox;
    int reliable_sent = 0;

  private:
    host::Host* host_ = nullptr;
    std::map<host::PeerHandle, MemoryLink*> peers_;
    host::PeerHandle next_handle_ = 7;  // not 0 or 1: handles are the transport's, not indexes
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
    std::string name;
    host::Host host;
    MemoryLink* link = nullptr;
    squares::SquaresModule* game = nullptr;

    explicit Player(std::optional<host::Color> color, std::string player_name = {},
                    std::size_t expect_players = 0)
        : name(std::move(player_name)) {
        link = static_cast<MemoryLink*>(&host.add(std::make_unique<MemoryLink>()));
        game =
            static_cast<squares::SquaresModule*>(&host.add(std::make_unique<squares::SquaresModule>(
                squares::SquaresOptions{color, expect_players})));
    }
};

/// Connects a and b both ways, as a transport's connected events would.
void connect(Player& a, Player& b) {
    a.link->attach(*b.link);
    b.link->attach(*a.link);
    a.link->announce(*b.link, a.name, b.name);
    b.link->announce(*a.link, b.name, a.name);
}

Clock::time_point at_frame(int i) {
    return Clock::time_point{} +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / 60.0));
}

}  // namespace

TEST_CASE("Each player sees the other's name, colour and smooth movement", "[sample][game]") {
    Player alice(host::Color{200, 10, 10, 255}, "alice");
    Player bob(host::Color{10, 10, 200, 255}, "bob");
    NullPlatform platform;
    const Clock::time_point t0{};
    alice.host.start(t0);
    bob.host.start(t0);
    connect(alice, bob);  // no Roster: a pair, as a transport without one reports it
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
    bob.link->drop(*alice.link, "alice left the game.");
    CHECK(bob.game->remotes().empty());
    bob.host.bus().publish(host::GameEnded{"alice left the game."});
    CHECK_FALSE(bob.game->in_game());

    alice.host.shutdown();
    bob.host.shutdown();
    CHECK(bob.host.summary().ok());          // it saw Alice move
    CHECK_FALSE(alice.host.summary().ok());  // it never saw Bob move
    CHECK(alice.host.summary().line().find("remote_moved=no") != std::string::npos);
}

TEST_CASE("Keys do not move the square while a text field has the keyboard", "[sample][game]") {
    Player bob(std::nullopt, "bob");  // first: it must outlive alice, whose shutdown sends Leave
    Player alice(host::Color{1, 2, 3, 255}, "alice");
    NullPlatform platform;
    alice.host.start(Clock::time_point{});
    bob.host.start(Clock::time_point{});
    alice.link->attach(*bob.link);
    alice.link->announce(*bob.link, "alice", "bob");
    alice.host.input().move_x = 1.0f;
    alice.host.input().keyboard_captured = true;
    alice.host.frame(Clock::time_point{} + std::chrono::milliseconds(100), platform);
    CHECK(alice.game->local_position() == squares::spawn_point("alice", "bob"));
}

namespace {

/// Four players in the party "friday", joined in this order (alice is its host), every pair
/// connected. alice and dave hash to the same palette colour.
struct Party {
    std::vector<std::unique_ptr<Player>> players;
    NullPlatform platform;
    int frame = 0;

    explicit Party(std::vector<std::string> names, std::size_t expect_players = 0) {
        for (const std::string& n : names) {
            players.push_back(std::make_unique<Player>(std::nullopt, n, expect_players));
            players.back()->host.start(Clock::time_point{});
        }
        publish_roster(names);
        for (std::size_t i = 0; i < players.size(); ++i) {
            for (std::size_t j = i + 1; j < players.size(); ++j) connect(*players[i], *players[j]);
        }
    }
    ~Party() {
        for (auto it = players.rbegin(); it != players.rend(); ++it) (*it)->host.shutdown();
    }
    void publish_roster(const std::vector<std::string>& names) {
        for (auto& p : players) {
            if (std::find(names.begin(), names.end(), p->name) == names.end()) continue;
            p->host.bus().publish(host::Roster{p->name, names, "friday", names.front()});
        }
    }
    void run(int frames) {
        for (int i = 0; i < frames; ++i) {
            ++frame;
            for (auto& p : players) p->host.frame(at_frame(frame), platform);
        }
    }
    Player& operator[](std::size_t i) { return *players[i]; }
};

}  // namespace

TEST_CASE("A party of four: everyone sees every other square move, in four distinct colours",
          "[sample][game][party]") {
    Party party({"alice", "bob", "carol", "dave"}, 4);
    // Each moves its own way for one second.
    const std::vector<std::pair<float, float>> moves = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
    for (std::size_t i = 0; i < 4; ++i) {
        party[i].host.input().move_x = moves[i].first;
        party[i].host.input().move_y = moves[i].second;
    }
    party.run(60);

    // Spawned in their slots of the join order, and moved 240 units from there.
    for (std::size_t i = 0; i < 4; ++i) {
        const host::Vec2 spawn = squares::spawn_slot(i);
        const host::Vec2 now = party[i].game->local_position();
        CHECK(std::hypot(now.x - spawn.x, now.y - spawn.y) == Approx(squares::kSpeed));
    }
    // Colours: the roster's, the same on every screen; dave's hash colour is alice's, so dave
    // takes the first free one.
    const std::vector<std::string> names = {"alice", "bob", "carol", "dave"};
    const std::vector<host::Color> expected = squares::colors_for(names);
    CHECK(squares::color_for("dave") == squares::color_for("alice"));
    CHECK(expected[3] != expected[0]);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(party[i].game->local_color() == expected[i]);
        const auto remotes = party[i].game->remotes();
        REQUIRE(remotes.size() == 3);
        for (const host::PeerHandle handle : remotes) {
            const squares::PeerView* view = party[i].game->peer(handle);
            REQUIRE(view != nullptr);
            const auto index = static_cast<std::size_t>(
                std::find(names.begin(), names.end(), view->name) - names.begin());
            REQUIRE(index < 4);
            CHECK(index != i);
            CHECK(view->hello);
            CHECK(view->color == expected[index]);
            CHECK(view->updates >= 19);  // 20 a second, the last maybe still in flight
            CHECK(view->farthest >= squares::SquaresModule::kMovedThreshold);
            REQUIRE(party[i].game->remote_position(handle).has_value());
        }
    }
    for (std::size_t i = 0; i < 4; ++i) party[i].host.shutdown();
    for (std::size_t i = 0; i < 4; ++i) {
        INFO(party[i].host.summary().line());
        CHECK(party[i].host.summary().ok());
        CHECK(party[i].host.summary().line().find(" seen=3 moved=3/3 ") != std::string::npos);
    }
}

TEST_CASE(
    "A member who leaves takes its square away, the others play on, and a colour it "
    "freed goes back to its owner on every screen",
    "[sample][game][party]") {
    Party party({"alice", "bob", "carol", "dave"});
    party.run(10);
    const host::Color dave_before = party[3].game->local_color();
    REQUIRE(dave_before != squares::color_for("dave"));  // alice had it

    // alice (the host) says goodbye and her connections end; the party's list loses her.
    party[0].host.bus().publish(host::PeerLeaving{});
    party.run(1);
    for (std::size_t i = 1; i < 4; ++i) {
        const host::PeerHandle alice = party[i].link->handle_of(party[0].link);
        REQUIRE(party[i].game->peer(alice) != nullptr);
        CHECK(party[i].game->peer(alice)->left);  // hidden at once
        party[i].link->drop(*party[0].link, "alice left the game.");
        party[0].link->drop(*party[i].link, "Left.");
    }
    party[0].host.bus().publish(host::GameEnded{"You left the party friday."});
    party.publish_roster({"bob", "carol", "dave"});
    party.run(2);

    CHECK_FALSE(party[0].game->in_game());
    for (std::size_t i = 1; i < 4; ++i) {
        CHECK(party[i].game->in_game());
        CHECK(party[i].game->remotes().size() == 2);
    }
    // dave's own colour is free now: he takes it and tells bob and carol in a Hello.
    CHECK(party[3].game->local_color() == squares::color_for("dave"));
    for (std::size_t i = 1; i < 3; ++i) {
        const squares::PeerView* dave =
            party[i].game->peer(party[i].link->handle_of(party[3].link));
        REQUIRE(dave != nullptr);
        CHECK(dave->color == squares::color_for("dave"));
    }
}

TEST_CASE("A party run fails, naming who, when another player never moved or never came",
          "[sample][game][party]") {
    Party party({"alice", "bob", "carol"}, 4);  // four expected, three came
    party[0].host.input().move_x = 1.0f;
    party[1].host.input().move_y = 1.0f;  // carol stands still
    party.run(30);
    party[0].host.shutdown();
    const std::string line = party[0].host.summary().line();
    CHECK_FALSE(party[0].host.summary().ok());
    CHECK(line.find("no movement received from carol") != std::string::npos);
    CHECK(line.find("saw 1 of 3 other players move") != std::string::npos);
    CHECK(line.find(" seen=2 moved=1/3 ") != std::string::npos);
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
    CHECK(net::party_problem("", "bob").empty());  // no party: play with bob
    CHECK(net::party_problem("friday-night", "").empty());
    CHECK(net::party_problem("friday", "bob") == "a friend's name or a party, not both");
    CHECK(net::party_problem("friday night", "") ==
          "a space is not allowed: use letters, digits, _ . -");
    CHECK(net::party_problem(std::string(33, 'p'), "") == "too long: at most 32 characters");
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
