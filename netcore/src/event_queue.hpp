// The session's events, queued for poll(), and its log hook (Config::log).
// Every part that reports (the session, its connections, the party client) pushes here; the
// queue hands the game each event by swapping it into the game's own Event, and keeps what that
// held (its strings' and buffer's capacity) in the slot for a later event: a game that polls into
// one Event receives messages without allocating once the buffers have grown to its messages'
// size (tests/test_session_api.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/session.hpp"

namespace netcore::detail {

class EventQueue {
  public:
    using Log = std::function<void(LogLevel, std::string_view)>;
    EventQueue() = default;
    explicit EventQueue(Log log) : log_(std::move(log)) {}

    /// An event to fill in: the next free slot's, emptied, its capacity kept.
    [[nodiscard]] Event fresh();
    /// Queues `e`, and logs it (all but received).
    void push_back(Event e);
    /// Swaps the oldest event into `out`, and keeps what `out` held in its slot. False when
    /// none.
    bool pop(Event& out);

    // What the tests look at, oldest first.
    class Iterator {
      public:
        using iterator_category = std::bidirectional_iterator_tag;
        using value_type = Event;
        using difference_type = std::ptrdiff_t;
        using pointer = const Event*;
        using reference = const Event&;
        Iterator() = default;
        Iterator(const EventQueue* q, std::size_t i) : q_(q), i_(i) {}
        reference operator*() const { return q_->at(i_); }
        pointer operator->() const { return &q_->at(i_); }
        Iterator& operator++() {
            ++i_;
            return *this;
        }
        Iterator operator++(int) { return {q_, i_++}; }
        Iterator& operator--() {
            --i_;
            return *this;
        }
        Iterator operator--(int) { return {q_, i_--}; }
        friend bool operator==(const Iterator& a, const Iterator& b) { return a.i_ == b.i_; }

      private:
        const EventQueue* q_ = nullptr;
        std::size_t i_ = 0;
    };
    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] const Event& front() const { return at(0); }
    [[nodiscard]] const Event& back() const { return at(size_ - 1); }
    [[nodiscard]] Iterator begin() const { return {this, 0}; }
    [[nodiscard]] Iterator end() const { return {this, size_}; }
    [[nodiscard]] auto rbegin() const { return std::reverse_iterator<Iterator>(end()); }
    [[nodiscard]] auto rend() const { return std::reverse_iterator<Iterator>(begin()); }
    void clear() {
        head_ = 0;
        size_ = 0;
    }

  private:
    [[nodiscard]] const Event& at(std::size_t i) const {
        return slots_[(head_ + i) % slots_.size()];
    }
    // A ring: a std::deque would allocate a block every few events. It grows when full and
    // never shrinks; a slot keeps the capacity of what was swapped into it.
    std::vector<Event> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
    Log log_;
};

}  // namespace netcore::detail
