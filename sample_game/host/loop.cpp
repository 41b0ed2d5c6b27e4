#include "host/loop.hpp"

#include <algorithm>
#include <cmath>

namespace host {

FixedTimestep::FixedTimestep(double ticks_per_second, int max_ticks_per_frame)
    : tick_seconds_(1.0 / ticks_per_second), max_ticks_(std::max(1, max_ticks_per_frame)) {}

FixedTimestep::Step FixedTimestep::advance(double frame_seconds) {
    accumulator_ += std::max(0.0, frame_seconds);
    Step step;
    // A tiny epsilon (1 µs) so that 1/60 s added sixty times makes sixty ticks, not 59 and a
    // remainder of 0.99999 tick from floating-point rounding.
    constexpr double kEpsilon = 1e-6;
    while (accumulator_ + kEpsilon >= tick_seconds_ && step.ticks < max_ticks_) {
        accumulator_ -= tick_seconds_;
        ++step.ticks;
    }
    if (accumulator_ + kEpsilon >= tick_seconds_) {
        accumulator_ = std::fmod(accumulator_, tick_seconds_);  // backlog dropped, phase kept
        if (accumulator_ + kEpsilon >= tick_seconds_) accumulator_ = 0.0;  // fmod's rounding
    }
    accumulator_ = std::max(0.0, accumulator_);
    step.alpha = std::clamp(accumulator_ / tick_seconds_, 0.0, 1.0);
    return step;
}

}  // namespace host
