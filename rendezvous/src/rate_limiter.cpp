// Token buckets per source IP, in a table bounded by forgetting the least recently seen.
#include "rate_limiter.hpp"

#include <algorithm>

namespace rendezvous {

bool TokenBucket::take(double rate, double burst, TimePoint now) {
    if (now > last) {
        const std::chrono::duration<double> elapsed = now - last;
        tokens = std::min(burst, tokens + elapsed.count() * rate);
        last = now;
    }
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
}

RateLimiter::Source& RateLimiter::source(std::uint32_t ip, TimePoint now) {
    if (const auto it = by_ip_.find(ip); it != by_ip_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);  // now the most recently seen
        return *it->second;
    }
    if (by_ip_.size() >= limits_.max_sources) {
        // A forgotten IP comes back with a full bucket: at worst one burst more per eviction,
        // and evicting needs max_sources other IPs seen since, which the limit itself slows.
        by_ip_.erase(lru_.back().ip);
        lru_.pop_back();
        ++evicted_;
    }
    // A new source starts with full buckets: an honest client's first exchange is never refused.
    lru_.push_front(Source{ip, {limits_.burst, now}, {limits_.answer_burst, now}});
    by_ip_.emplace(ip, lru_.begin());
    return lru_.front();
}

bool RateLimiter::admit(std::uint32_t ip, TimePoint now) {
    return source(ip, now).datagrams.take(limits_.rate, limits_.burst, now);
}

bool RateLimiter::admit_answer(std::uint32_t ip, TimePoint now) {
    return source(ip, now).answers.take(limits_.answer_rate, limits_.answer_burst, now);
}

}  // namespace rendezvous
