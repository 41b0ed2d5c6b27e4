// The squares game: rules, interpolation and its messages, by value.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "modules/squares/game_state.hpp"
#include "modules/squares/interpolation.hpp"
#include "modules/squares/messages.hpp"

using namespace squares;

namespace {
bool near(host::Vec2 a, host::Vec2 b, float eps = 1e-3f) {
    return std::fabs(a.x - b.x) < eps && std::fabs(a.y - b.y) < eps;
}
}  // namespace

TEST_CASE("A square moves at kSpeed, no faster on a diagonal, and stays in the arena",
          "[sample][squares]") {
    const host::Vec2 centre{400.0f, 300.0f};
    CHECK(near(step(centre, 1.0f, 0.0f, 0.5), {400.0f + kSpeed * 0.5f, 300.0f}));
    CHECK(near(step(centre, 0.0f, -1.0f, 0.25), {400.0f, 300.0f - kSpeed * 0.25f}));
    const host::Vec2 diagonal = step(centre, 1.0f, 1.0f, 0.1);
    const float moved = std::hypot(diagonal.x - centre.x, diagonal.y - centre.y);
    CHECK(moved == Approx(kSpeed * 0.1f));
    CHECK(near(step(centre, 0.5f, 0.0f, 1.0), {400.0f + kSpeed * 0.5f, 300.0f}));  // half input

    const float half = kSquareSize / 2.0f;
    CHECK(near(step({30.0f, 30.0f}, -1.0f, -1.0f, 10.0), {half, half}));
    CHECK(
        near(step({700.0f, 500.0f}, 1.0f, 1.0f, 10.0), {kArenaWidth - half, kArenaHeight - half}));
}

TEST_CASE("Players spawn on opposite thirds, and agree on who goes where", "[sample][squares]") {
    const host::Vec2 alice = spawn_point("alice", "bob");
    const host::Vec2 bob = spawn_point("bob", "alice");
    CHECK(near(alice, {kArenaWidth / 3.0f, kArenaHeight / 2.0f}));
    CHECK(near(bob, {2.0f * kArenaWidth / 3.0f, kArenaHeight / 2.0f}));
}

TEST_CASE("A player's colour depends only on the name", "[sample][squares]") {
    CHECK(color_for("alice") == color_for("alice"));
    CHECK(color_for("alice").a == 255);
}

TEST_CASE("The arena is fitted to the window with a uniform scale, centred", "[sample][squares]") {
    const ArenaView wide = ArenaView::fit({1600.0f, 600.0f}, 0.0f);  // height limits
    CHECK(wide.scale == Approx(1.0f));
    CHECK(near(wide.origin, {400.0f, 0.0f}));
    const ArenaView small = ArenaView::fit({400.0f, 400.0f}, 0.0f);  // width limits
    CHECK(small.scale == Approx(0.5f));
    CHECK(near(small.origin, {0.0f, 50.0f}));
    CHECK(near(small.to_window({800.0f, 600.0f}), {400.0f, 350.0f}));
}

TEST_CASE("The remote square is drawn between the two updates around the playback time",
          "[sample][interpolation]") {
    Interpolator remote(6.0);  // 6 ticks behind the newest update
    CHECK_FALSE(remote.sample().has_value());

    REQUIRE(remote.push(100, {0.0f, 0.0f}));
    CHECK(remote.playback_tick() == Approx(94.0));
    CHECK(near(*remote.sample(), {0.0f, 0.0f}));  // before the first: held at the first

    REQUIRE(remote.push(103, {30.0f, 0.0f}));
    REQUIRE(remote.push(106, {60.0f, 60.0f}));
    remote.advance(7.0);  // playback 101: a third of the way from tick 100 to 103
    CHECK(remote.playback_tick() == Approx(101.0));
    CHECK(near(*remote.sample(), {10.0f, 0.0f}));
    remote.advance(3.5);  // 104.5: half way from 103 to 106
    CHECK(near(*remote.sample(), {45.0f, 30.0f}));
}

TEST_CASE("Playback never runs past the newest update, and catches up when far behind",
          "[sample][interpolation]") {
    Interpolator remote(6.0);
    remote.push(10, {0.0f, 0.0f});
    remote.push(13, {30.0f, 0.0f});
    remote.advance(100.0);  // updates stopped: hold the last position, do not guess
    CHECK(remote.playback_tick() == Approx(13.0));
    CHECK(near(*remote.sample(), {30.0f, 0.0f}));

    remote.push(100, {90.0f, 0.0f});  // a burst after a stall: 87 ticks behind
    remote.advance(0.0);
    CHECK(remote.playback_tick() == Approx(94.0));  // jumped to 6 ticks behind the newest
}

TEST_CASE("Late and duplicate updates are ignored", "[sample][interpolation]") {
    Interpolator remote;
    CHECK(remote.push(50, {1.0f, 1.0f}));
    CHECK_FALSE(remote.push(50, {2.0f, 2.0f}));
    CHECK_FALSE(remote.push(47, {3.0f, 3.0f}));
    CHECK(remote.size() == 1);
    for (std::uint32_t t = 51; t < 51 + 2 * Interpolator::kCapacity; ++t) remote.push(t, {});
    CHECK(remote.size() == Interpolator::kCapacity);
}

TEST_CASE("Every message survives an encode/decode round trip", "[sample][messages]") {
    const Message hello = Hello{"alice_01.x-y", {1, 2, 3, 255}};
    const Message state = StateUpdate{123456, 412.5f, 20.25f};
    const Message leave = Leave{};
    for (const Message& m : {hello, state, leave}) {
        const auto bytes = encode(m);
        REQUIRE_FALSE(bytes.empty());
        const auto back = decode(bytes);
        REQUIRE(back.has_value());
        CHECK(*back == m);
    }
    CHECK(encode(state).size() == 2 + 12);
    CHECK(encode(hello).size() == 2 + 1 + 12 + 3);
}

TEST_CASE("Messages that cannot be valid are not encoded", "[sample][messages]") {
    CHECK(encode(Hello{"", {}}).empty());
    CHECK(encode(Hello{std::string(33, 'a'), {}}).empty());
    CHECK(encode(Hello{"tab\there", {}}).empty());
    CHECK(encode(StateUpdate{1, -1.0f, 0.0f}).empty());
    CHECK(encode(StateUpdate{1, std::numeric_limits<float>::quiet_NaN(), 0.0f}).empty());
}

TEST_CASE("Malformed messages are rejected", "[sample][messages]") {
    const auto state = encode(StateUpdate{7, 100.0f, 200.0f});
    const auto hello = encode(Hello{"bob", {9, 9, 9, 255}});

    CHECK_FALSE(decode({}).has_value());
    CHECK_FALSE(decode(std::vector<std::uint8_t>{kWireVersion}).has_value());  // no kind
    {
        auto v = state;
        v[0] = 2;  // another version
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = state;
        v[1] = 9;  // unknown kind
        CHECK_FALSE(decode(v).has_value());
    }
    for (std::size_t n = 0; n < state.size(); ++n) {  // every truncation
        CHECK_FALSE(decode(std::span(state.data(), n)).has_value());
    }
    for (std::size_t n = 0; n < hello.size(); ++n) {
        CHECK_FALSE(decode(std::span(hello.data(), n)).has_value());
    }
    {
        auto v = state;
        v.push_back(0);  // trailing byte
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = encode(Leave{});
        v.push_back(0);
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = hello;
        v[2] = 40;  // name length past the end
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = hello;
        v[2] = 0;  // empty name (and then trailing bytes)
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = hello;
        v[3] = 0x07;  // a control character in the name
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = state;  // x = +infinity
        const float inf = std::numeric_limits<float>::infinity();
        std::uint32_t bits;
        std::memcpy(&bits, &inf, 4);
        for (int i = 0; i < 4; ++i)
            v[6 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(bits >> (8 * i));
        CHECK_FALSE(decode(v).has_value());
    }
    {
        auto v = state;  // y = 1e6, outside the arena
        const float far = 1e6f;
        std::uint32_t bits;
        std::memcpy(&bits, &far, 4);
        for (int i = 0; i < 4; ++i)
            v[10 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(bits >> (8 * i));
        CHECK_FALSE(decode(v).has_value());
    }
}

TEST_CASE("Up to eight players get eight distinct colours, the same on every screen",
          "[sample][squares][party]") {
    const std::vector<std::string> eight = {"alice", "bob",   "carol", "dave",
                                            "erin",  "frank", "grace", "heidi"};
    const std::vector<host::Color> colors = colors_for(eight);
    REQUIRE(colors.size() == 8);
    for (std::size_t i = 0; i < colors.size(); ++i) {
        for (std::size_t j = i + 1; j < colors.size(); ++j) CHECK(colors[i] != colors[j]);
    }
    CHECK(colors == colors_for(eight));  // every player computes the same
    // Whoever comes first keeps its own colour; a later clash takes the first free one.
    CHECK(colors[0] == color_for("alice"));
    CHECK(colors[1] == color_for("bob"));
    REQUIRE(color_for("dave") == color_for("alice"));
    CHECK(colors[3] != color_for("dave"));
    // Alone, or with no clash, a player has its own colour: the two-player game's rule.
    const std::vector<std::string> pair = {"alice", "bob"};
    CHECK(colors_for(pair) == std::vector<host::Color>{color_for("alice"), color_for("bob")});
    // A ninth player starts the palette again.
    std::vector<std::string> nine = eight;
    nine.push_back("ivan");
    CHECK(colors_for(nine)[8] == color_for("ivan"));
}

TEST_CASE("Eight spawn slots lie inside the arena, apart, the first two the pair's",
          "[sample][squares][party]") {
    CHECK(near(spawn_slot(0), spawn_point("alice", "bob")));
    CHECK(near(spawn_slot(1), spawn_point("bob", "alice")));
    for (std::size_t i = 0; i < kMaxPlayers; ++i) {
        const host::Vec2 a = spawn_slot(i);
        CHECK(near(clamp_to_arena(a), a));
        for (std::size_t j = i + 1; j < kMaxPlayers; ++j) {
            const host::Vec2 b = spawn_slot(j);
            CHECK(std::hypot(a.x - b.x, a.y - b.y) >= 2.0f * kSquareSize);
        }
    }
    CHECK(near(spawn_slot(kMaxPlayers), spawn_slot(0)));  // a ninth wraps
}
