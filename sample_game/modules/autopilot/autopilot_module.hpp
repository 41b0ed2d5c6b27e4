// autopilot — moves the player in a fixed pattern, for headless runs, tests and the demo.
//
// It writes host::Input in update(), after the platform read the keyboard and before the
// fixed ticks read it: a module standing in for the player, with no access to the game.
// The pattern: a slow circle, one turn every kPeriod seconds at kStrength of full speed
// (with squares' 240 units/s: a circle of radius 240 * 0.5 * 4 / 2π ≈ 76 units).
#pragma once

#include <cmath>
#include <numbers>

#include "host/host.hpp"

namespace autopilot {

class AutopilotModule final : public host::Module {
  public:
    static constexpr double kPeriod = 4.0;    // seconds per turn
    static constexpr float kStrength = 0.5f;  // of full input

    [[nodiscard]] std::string_view name() const override { return "autopilot"; }
    void start(host::Host& host) override { input_ = host.services().find<host::Input>(); }
    void update(const host::FrameTime& frame) override {
        elapsed_ += frame.dt;
        if (input_ == nullptr) return;
        const double angle = 2.0 * std::numbers::pi * elapsed_ / kPeriod;
        input_->move_x = kStrength * static_cast<float>(std::cos(angle));
        input_->move_y = kStrength * static_cast<float>(std::sin(angle));
        input_->keyboard_captured = false;
    }

  private:
    host::Input* input_ = nullptr;
    double elapsed_ = 0.0;
};

}  // namespace autopilot
