// squares — the rules: an arena, squares that move at a fixed speed, and where players spawn.
// Pure functions of their inputs, so tests check values.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/canvas.hpp"

namespace squares {

using host::Color;
using host::Vec2;

// The arena is in its own units ("arena pixels"); rendering scales it to the window.
inline constexpr float kArenaWidth = 800.0f;
inline constexpr float kArenaHeight = 600.0f;
inline constexpr float kSquareSize = 40.0f;  // arena units, side of a square
inline constexpr float kSpeed = 240.0f;      // arena units per second at full input
inline constexpr int kTicksPerState = 3;     // 60 Hz ticks / 3 = 20 state updates a second
/// Players with a spawn slot and a colour of their own; from a party's 9th member on, they repeat.
inline constexpr std::size_t kMaxPlayers = 8;

/// The square's centre after `seconds` of input (move_x, move_y in -1..1; a diagonal is no
/// faster than a straight line), kept inside the arena.
[[nodiscard]] Vec2 step(Vec2 centre, float move_x, float move_y, double seconds);

/// `centre` moved the least needed to keep the whole square inside the arena.
[[nodiscard]] Vec2 clamp_to_arena(Vec2 centre);

[[nodiscard]] Vec2 lerp(Vec2 a, Vec2 b, float t);

/// A colour picked from a palette of kMaxPlayers by the name's hash: everyone computes the same.
[[nodiscard]] Color color_for(std::string_view name);

/// One colour per player, distinct for up to kMaxPlayers: in the order given, each player takes
/// its color_for() unless someone before it has that colour, else the first palette colour still
/// free. Every player holding the same list computes the same colours.
[[nodiscard]] std::vector<Color> colors_for(std::span<const std::string> players);

/// Where the player in `slot` starts (slots past kMaxPlayers wrap). Slots 0 and 1 are the left
/// and right thirds at mid-height; 2..7 lie above, below and in the corners, at least two
/// squares apart, so up to kMaxPlayers squares never start overlapped.
[[nodiscard]] Vec2 spawn_slot(std::size_t slot);

/// Where `me` starts when playing against `peer`: the name that sorts first in slot 0 (left),
/// the other in slot 1 (right), so both sides agree without talking.
[[nodiscard]] Vec2 spawn_point(std::string_view me, std::string_view peer);

/// How an arena is fitted into a window: uniform scale, centred (letterboxed).
struct ArenaView {
    float scale = 1.0f;
    Vec2 origin;  ///< window position of the arena's (0, 0)

    [[nodiscard]] static ArenaView fit(Vec2 window, float margin);
    [[nodiscard]] Vec2 to_window(Vec2 arena) const {
        return {origin.x + arena.x * scale, origin.y + arena.y * scale};
    }
};

}  // namespace squares
