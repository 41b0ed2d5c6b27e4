// sample_game host — the fixed-timestep accumulator that decouples simulation from rendering.
//
// Each frame adds its real duration to an accumulator and takes out whole ticks; what is left,
// as a fraction of a tick, is the alpha renderers interpolate with. A frame that took too long
// (a debugger stop, a dragged window) runs at most max_ticks_per_frame ticks and drops the rest
// of the backlog, so a slow frame cannot snowball into slower ones.
#pragma once

namespace host {

class FixedTimestep {
  public:
    struct Step {
        int ticks = 0;       ///< fixed ticks to run this frame
        double alpha = 0.0;  ///< 0..1: how far the frame is between the last tick and the next
    };

    explicit FixedTimestep(double ticks_per_second, int max_ticks_per_frame = 8);

    /// Adds `frame_seconds` of real time and says how many ticks to run.
    Step advance(double frame_seconds);

    [[nodiscard]] double tick_seconds() const { return tick_seconds_; }
    [[nodiscard]] double accumulator() const { return accumulator_; }

  private:
    double tick_seconds_;
    int max_ticks_;
    double accumulator_ = 0.0;
};

}  // namespace host
