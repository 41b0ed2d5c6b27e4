#include "modules/squares/game_state.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace squares {

Vec2 clamp_to_arena(Vec2 c) {
    constexpr float half = kSquareSize / 2.0f;
    return {std::clamp(c.x, half, kArenaWidth - half), std::clamp(c.y, half, kArenaHeight - half)};
}

Vec2 step(Vec2 centre, float move_x, float move_y, double seconds) {
    float dx = std::clamp(move_x, -1.0f, 1.0f);
    float dy = std::clamp(move_y, -1.0f, 1.0f);
    const float length = std::sqrt(dx * dx + dy * dy);
    if (length > 1.0f) {
        dx /= length;
        dy /= length;
    }
    const auto distance = static_cast<float>(kSpeed * seconds);
    return clamp_to_arena({centre.x + dx * distance, centre.y + dy * distance});
}

Vec2 lerp(Vec2 a, Vec2 b, float t) {
    return {a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
}

namespace {

// Saturated colours that read well on the dark arena and are far from each other and from the
// UI's greys.
constexpr std::array<Color, kMaxPlayers> kPalette = {{
    {230, 57, 70, 255},    // red
    {42, 157, 143, 255},   // teal
    {244, 162, 97, 255},   // orange
    {69, 123, 237, 255},   // blue
    {233, 196, 106, 255},  // yellow
    {155, 93, 229, 255},   // purple
    {116, 198, 80, 255},   // green
    {241, 91, 181, 255},   // pink
}};

std::size_t palette_index(std::string_view name) {
    std::uint32_t hash = 2166136261u;  // FNV-1a
    for (char c : name) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 16777619u;
    }
    return hash % kPalette.size();
}

}  // namespace

Color color_for(std::string_view name) {
    return kPalette[palette_index(name)];
}

std::vector<Color> colors_for(std::span<const std::string> players) {
    std::array<bool, kPalette.size()> taken{};
    std::vector<Color> colors;
    colors.reserve(players.size());
    for (std::size_t i = 0; i < players.size(); ++i) {
        if (i % kPalette.size() == 0) taken.fill(false);  // a 9th player on: the palette again
        std::size_t pick = palette_index(players[i]);
        if (taken[pick]) {
            pick = 0;
            while (taken[pick]) ++pick;
        }
        taken[pick] = true;
        colors.push_back(kPalette[pick]);
    }
    return colors;
}

Vec2 spawn_slot(std::size_t slot) {
    // Fractions of the arena's width and height.
    static constexpr std::array<Vec2, kMaxPlayers> kSlots = {{
        {1.0f / 3.0f, 1.0f / 2.0f},  // the two-player places
        {2.0f / 3.0f, 1.0f / 2.0f},
        {1.0f / 2.0f, 1.0f / 5.0f},  // top and bottom middle
        {1.0f / 2.0f, 4.0f / 5.0f},
        {1.0f / 6.0f, 1.0f / 5.0f},  // the corners
        {5.0f / 6.0f, 4.0f / 5.0f},
        {5.0f / 6.0f, 1.0f / 5.0f},
        {1.0f / 6.0f, 4.0f / 5.0f},
    }};
    const Vec2 at = kSlots[slot % kSlots.size()];
    return {at.x * kArenaWidth, at.y * kArenaHeight};
}

Vec2 spawn_point(std::string_view me, std::string_view peer) {
    return spawn_slot(me <= peer ? 0 : 1);
}

ArenaView ArenaView::fit(Vec2 window, float margin) {
    const float w = std::max(1.0f, window.x - 2.0f * margin);
    const float h = std::max(1.0f, window.y - 2.0f * margin);
    ArenaView view;
    view.scale = std::min(w / kArenaWidth, h / kArenaHeight);
    view.origin = {(window.x - kArenaWidth * view.scale) / 2.0f,
                   (window.y - kArenaHeight * view.scale) / 2.0f};
    return view;
}

}  // namespace squares
