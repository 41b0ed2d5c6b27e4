// squares — smooth motion of the remote square from unreliable state updates.
//
// Snapshot interpolation: updates arrive 20 times a second, late, and some never. We show the
// peer a little in the past (delay_ticks behind the newest update) and blend between the two
// updates around that moment, so its square glides instead of jumping 20 times a second. The
// playback clock runs at our tick rate; it never passes the newest update (no guessing ahead),
// and if it falls far behind (a burst after a stall) it jumps forward to delay_ticks behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "host/canvas.hpp"

namespace squares {

class Interpolator {
  public:
    /// 6 ticks at 60 Hz = 100 ms = two update intervals at 20 Hz: one lost update still leaves
    /// two to blend between.
    static constexpr double kDefaultDelayTicks = 6.0;
    static constexpr std::size_t kCapacity = 32;  // snapshots kept: 1.6 s at 20 Hz

    explicit Interpolator(double delay_ticks = kDefaultDelayTicks) : delay_(delay_ticks) {}

    /// Adds the peer's position at its tick. Returns false (and ignores it) when it is not
    /// newer than the newest one held: a duplicate or a late arrival.
    bool push(std::uint32_t tick, host::Vec2 position);

    /// Moves the playback clock on by `ticks` (fractional: frames are not ticks).
    void advance(double ticks);

    /// The position to draw now; nothing before the first update.
    [[nodiscard]] std::optional<host::Vec2> sample() const;

    [[nodiscard]] double playback_tick() const { return playback_; }
    [[nodiscard]] std::size_t size() const { return snapshots_.size(); }
    void reset();

  private:
    struct Snapshot {
        std::uint32_t tick;
        host::Vec2 position;
    };
    std::deque<Snapshot> snapshots_;
    double delay_;
    double playback_ = 0.0;
};

}  // namespace squares
