#include "event_queue.hpp"

#include <utility>

namespace netcore::detail {

namespace {

LogLevel level_of(EventType t) {
    switch (t) {
        case EventType::error:
            return LogLevel::error;
        case EventType::warning:
            return LogLevel::warning;
        case EventType::connected:
        case EventType::path_changed:
        case EventType::disconnected:
            return LogLevel::info;
        default:
            return LogLevel::debug;
    }
}

}  // namespace

Event EventQueue::fresh() {
    if (size_ == slots_.size()) return Event{};
    Event e = std::move(slots_[(head_ + size_) % slots_.size()]);
    e.type = EventType::error;
    e.error = Error::none;
    e.detail.clear();
    e.connection = kNoPeer;
    e.peer.clear();
    e.address = Address{};
    e.path = Path::none;
    e.channel = Channel::reliable;
    e.data.clear();
    return e;
}

void EventQueue::push_back(Event e) {
    if (log_ && e.type != EventType::received) log_(level_of(e.type), to_string(e));
    if (size_ == slots_.size()) {
        // Full: the ring doubles, oldest first from slot 0.
        std::vector<Event> grown(std::max<std::size_t>(16, 2 * slots_.size()));
        for (std::size_t i = 0; i < size_; ++i)
            grown[i] = std::move(slots_[(head_ + i) % slots_.size()]);
        slots_ = std::move(grown);
        head_ = 0;
    }
    slots_[(head_ + size_) % slots_.size()] = std::move(e);
    ++size_;
}

bool EventQueue::pop(Event& out) {
    if (size_ == 0) return false;
    std::swap(out, slots_[head_]);
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return true;
}

}  // namespace netcore::detail
