// sample_game host — the module interface: what a plugin implements to live in the host.
//
// Lifecycle, driven by Host (host.hpp), in this order:
//   start(host)          once, in registration order; look up services, subscribe to the bus
//   every frame:
//     update(frame)      variable rate, once per rendered frame (networking lives here)
//     tick(tick) x N     fixed rate (60 Hz); N from the accumulator, often 0 or 1 (simulation)
//     ui()               Dear ImGui widgets; only when the platform has a window
//     render(canvas, a)  world drawing; a = interpolation alpha between the last two ticks
//   shutdown()           once, in reverse registration order (like destructors)
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace host {

class Host;
class Canvas;

using Clock = std::chrono::steady_clock;

/// What update() gets: the real time of this frame and the time since the last one.
struct FrameTime {
    Clock::time_point now;
    double dt = 0.0;  ///< seconds since the previous frame (clamped, see Host)
    std::uint64_t frame = 0;
};

/// What tick() gets: the fixed step.
struct TickTime {
    std::uint64_t tick = 0;  ///< number of this tick since start, from 0
    double dt = 0.0;         ///< seconds, always 1 / tick rate
};

class Module {
  public:
    virtual ~Module() = default;

    /// A short name for logs and the summary line.
    [[nodiscard]] virtual std::string_view name() const = 0;

    virtual void start(Host& host) { (void)host; }
    virtual void update(const FrameTime& frame) { (void)frame; }
    virtual void tick(const TickTime& tick) { (void)tick; }
    virtual void ui() {}
    virtual void render(Canvas& canvas, float alpha) {
        (void)canvas;
        (void)alpha;
    }
    virtual void shutdown() {}
};

}  // namespace host
