// sample_game host — the 2D drawing surface modules render the world on.
//
// Modules draw in window pixels through this interface and never see the graphics API: the
// windowed platform implements it on Dear ImGui's background draw list (so squares and UI share
// one renderer), the headless platform with a canvas that draws nothing, and tests with one that
// records what was drawn.
#pragma once

#include <cstdint>
#include <string_view>

namespace host {

struct Vec2 {
    float x = 0.0f;
    float y = 0.0f;
    friend bool operator==(const Vec2&, const Vec2&) = default;
};

struct Color {
    std::uint8_t r = 0, g = 0, b = 0, a = 255;
    friend bool operator==(const Color&, const Color&) = default;
};

struct Rect {
    Vec2 min;
    Vec2 max;
};

class Canvas {
  public:
    virtual ~Canvas() = default;
    /// The drawable size in pixels (the window's, which the player may resize).
    [[nodiscard]] virtual Vec2 size() const = 0;
    virtual void fill_rect(const Rect& rect, Color color) = 0;
    virtual void outline_rect(const Rect& rect, Color color, float thickness) = 0;
    virtual void text(Vec2 at, Color color, std::string_view text) = 0;
};

}  // namespace host
