// sample_game host — owns the modules and drives their lifecycle (see module.hpp).
//
// A game engine in miniature: modules are registered once, then the host runs frames. It offers
// modules three ways to cooperate without knowing each other: Services (interfaces by type),
// the Bus (typed messages), and the shared Input and Summary.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "host/input.hpp"
#include "host/loop.hpp"
#include "host/module.hpp"
#include "host/platform.hpp"
#include "host/services.hpp"
#include "host/summary.hpp"

namespace host {

class Host {
  public:
    static constexpr double kTickRate = 60.0;    // Hz: simulation ticks
    static constexpr double kMaxFrameDt = 0.25;  // s: a longer frame counts as this long

    explicit Host(double tick_rate = kTickRate);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    /// Registers a module; call before start(). Lifecycle calls follow registration order.
    Module& add(std::unique_ptr<Module> module);

    Services& services() { return services_; }
    Bus& bus() { return bus_; }
    Input& input() { return input_; }
    Summary& summary() { return summary_; }
    [[nodiscard]] double tick_seconds() const { return step_.tick_seconds(); }

    /// Ends run() after the current frame.
    void request_quit() { quit_ = true; }
    [[nodiscard]] bool quit_requested() const { return quit_; }

    // The lifecycle, one call at a time (run() strings them together; tests call them directly).
    void start(Clock::time_point now);
    void frame(Clock::time_point now, Platform& platform);
    void shutdown();

    /// start(), then frames until the platform or a module quits or `deadline` passes,
    /// then shutdown().
    void run(Platform& platform, std::optional<Clock::time_point> deadline = std::nullopt);

  private:
    std::vector<std::unique_ptr<Module>> modules_;
    Services services_;
    Bus bus_;
    Input input_;
    Summary summary_;
    FixedTimestep step_;
    Clock::time_point last_{};
    std::uint64_t frames_ = 0;
    std::uint64_t ticks_ = 0;
    bool started_ = false;
    bool quit_ = false;
};

}  // namespace host
