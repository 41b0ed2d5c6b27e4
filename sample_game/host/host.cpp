#include "host/host.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace host {

Host::Host(double tick_rate) : step_(tick_rate) {
    services_.provide<Input>(&input_);
}

Host::~Host() {
    shutdown();
}

Module& Host::add(std::unique_ptr<Module> module) {
    modules_.push_back(std::move(module));
    return *modules_.back();
}

void Host::start(Clock::time_point now) {
    if (started_) return;
    started_ = true;
    last_ = now;
    for (auto& m : modules_) m->start(*this);
}

void Host::frame(Clock::time_point now, Platform& platform) {
    const double dt =
        std::clamp(std::chrono::duration<double>(now - last_).count(), 0.0, kMaxFrameDt);
    last_ = now;

    const FrameTime frame{now, dt, frames_++};
    for (auto& m : modules_) m->update(frame);

    const FixedTimestep::Step step = step_.advance(dt);
    for (int i = 0; i < step.ticks; ++i) {
        const TickTime tick{ticks_++, step_.tick_seconds()};
        for (auto& m : modules_) m->tick(tick);
    }

    platform.begin_frame();
    if (platform.has_ui()) {
        for (auto& m : modules_) m->ui();
    }
    for (auto& m : modules_) m->render(platform.canvas(), static_cast<float>(step.alpha));
    platform.end_frame(now);
}

void Host::shutdown() {
    if (!started_) return;
    started_ = false;
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it) (*it)->shutdown();
}

void Host::run(Platform& platform, std::optional<Clock::time_point> deadline) {
    start(Clock::now());
    while (!quit_) {
        if (!platform.pump(input_)) break;
        const auto now = Clock::now();
        frame(now, platform);
        if (deadline && now >= *deadline) break;
    }
    shutdown();
}

void HeadlessPlatform::end_frame(Clock::time_point now) {
    const auto step =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(frame_seconds_));
    if (next_ == Clock::time_point{} || now - next_ > 4 * step) next_ = now;
    next_ += step;
    std::this_thread::sleep_until(next_);
}

}  // namespace host
