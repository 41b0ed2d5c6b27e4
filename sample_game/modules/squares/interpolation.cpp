#include "modules/squares/interpolation.hpp"

#include "modules/squares/game_state.hpp"

namespace squares {

bool Interpolator::push(std::uint32_t tick, host::Vec2 position) {
    if (!snapshots_.empty() && tick <= snapshots_.back().tick) return false;
    if (snapshots_.empty()) playback_ = static_cast<double>(tick) - delay_;
    snapshots_.push_back({tick, position});
    while (snapshots_.size() > kCapacity) snapshots_.pop_front();
    return true;
}

void Interpolator::advance(double ticks) {
    if (snapshots_.empty()) return;
    playback_ += ticks;
    const auto newest = static_cast<double>(snapshots_.back().tick);
    if (playback_ > newest) playback_ = newest;                          // hold: never extrapolate
    if (playback_ < newest - 3.0 * delay_) playback_ = newest - delay_;  // far behind: catch up
}

std::optional<host::Vec2> Interpolator::sample() const {
    if (snapshots_.empty()) return std::nullopt;
    if (playback_ <= static_cast<double>(snapshots_.front().tick)) {
        return snapshots_.front().position;
    }
    for (std::size_t i = 1; i < snapshots_.size(); ++i) {
        const Snapshot& a = snapshots_[i - 1];
        const Snapshot& b = snapshots_[i];
        if (playback_ <= static_cast<double>(b.tick)) {
            const double t = (playback_ - a.tick) / static_cast<double>(b.tick - a.tick);
            return lerp(a.position, b.position, static_cast<float>(t));
        }
    }
    return snapshots_.back().position;
}

void Interpolator::reset() {
    snapshots_.clear();
    playback_ = 0.0;
}

}  // namespace squares
