// sample_game host — what the host needs from the machine: events and input, a frame to draw
// in, and presenting it. Windowed (SDL2 + OpenGL + Dear ImGui) and headless implement it.
#pragma once

#include "host/canvas.hpp"
#include "host/input.hpp"
#include "host/module.hpp"

namespace host {

class Platform {
  public:
    virtual ~Platform() = default;
    /// Handles pending OS events and writes the player's input. False: the player quit.
    virtual bool pump(Input& input) = 0;
    /// True when there is a window: modules' ui() is called only then.
    [[nodiscard]] virtual bool has_ui() const = 0;
    virtual void begin_frame() = 0;
    virtual Canvas& canvas() = 0;
    /// Presents the frame. The headless platform sleeps here to pace frames.
    virtual void end_frame(Clock::time_point now) = 0;
};

/// No window, no drawing: frames are paced at `fps` by sleeping. Used by --headless and tests.
class HeadlessPlatform final : public Platform {
  public:
    explicit HeadlessPlatform(double fps = 60.0) : frame_seconds_(1.0 / fps) {}
    bool pump(Input& input) override {
        input.keyboard_captured = false;
        return true;
    }
    [[nodiscard]] bool has_ui() const override { return false; }
    void begin_frame() override {}
    Canvas& canvas() override { return canvas_; }
    void end_frame(Clock::time_point now) override;

  private:
    class NullCanvas final : public Canvas {
      public:
        [[nodiscard]] Vec2 size() const override { return {800.0f, 600.0f}; }
        void fill_rect(const Rect&, Color) override {}
        void outline_rect(const Rect&, Color, float) override {}
        void text(Vec2, Color, std::string_view) override {}
    };
    NullCanvas canvas_;
    double frame_seconds_;
    Clock::time_point next_{};
};

}  // namespace host
