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

Color color_for(std::string_view name) {
    // Saturated colours that read well on the dark arena and are far from each other and from
    // the UI's greys.
    static constexpr std::array<Color, 8> kPalette = {{
        {230, 57, 70, 255},    // red
        {42, 157, 143, 255},   // teal
        {244, 162, 97, 255},   // orange
        {69, 123, 237, 255},   // blue
        {233, 196, 106, 255},  // yellow
        {155, 93, 229, 255},   // purple
        {116, 198, 80, 255},   // green
        {241, 91, 181, 255},   // pink
    }};
    std::uint32_t hash = 2166136261u;  // FNV-1a
    for (char c : name) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 16777619u;
    }
    return kPalette[hash % kPalette.size()];
}

Vec2 spawn_point(std::string_view me, std::string_view peer) {
    const float x = me <= peer ? kArenaWidth / 3.0f : 2.0f * kArenaWidth / 3.0f;
    return {x, kArenaHeight / 2.0f};
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
