// rendezvous — per-source-IP limits: a token bucket for datagrams and one for answers larger than
// their request (docs/PROTOCOL.md §7.1). Keyed by IP alone, so rotating source ports does not
// escape it; the table is bounded and forgets the least recently seen IP first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "registry.hpp"  // TimePoint

namespace rendezvous {

/// A token bucket: `rate` tokens a second, at most `burst` saved up. Time is passed in.
struct TokenBucket {
    double tokens = 0;
    TimePoint last{};

    /// Refills for the time since the last call, then takes one token if there is one.
    bool take(double rate, double burst, TimePoint now);
};

/// Limits per source IP.
struct RateLimits {
    double rate = 20;                 ///< datagrams a second, sustained
    double burst = 40;                ///< datagrams at once
    double answer_rate = 10;          ///< answers larger than their request, a second
    double answer_burst = 20;         ///< of those at once
    std::size_t max_sources = 65536;  ///< IPs remembered; the least recently seen is forgotten
};

class RateLimiter {
  public:
    explicit RateLimiter(RateLimits limits) : limits_(limits) {}

    /// One datagram from `ip` at `now`: true if it may be handled.
    bool admit(std::uint32_t ip, TimePoint now);
    /// One answer to `ip` larger than its request: true if it may be sent.
    bool admit_answer(std::uint32_t ip, TimePoint now);

    /// IPs remembered now (at most RateLimits::max_sources).
    [[nodiscard]] std::size_t size() const { return by_ip_.size(); }
    /// IPs forgotten to keep the table bounded, since construction.
    [[nodiscard]] std::uint64_t evicted() const { return evicted_; }

  private:
    struct Source {
        std::uint32_t ip = 0;
        TokenBucket datagrams;
        TokenBucket answers;
    };
    Source& source(std::uint32_t ip, TimePoint now);

    RateLimits limits_;
    std::list<Source> lru_;  // most recently seen first
    std::unordered_map<std::uint32_t, std::list<Source>::iterator> by_ip_;
    std::uint64_t evicted_ = 0;
};

}  // namespace rendezvous
