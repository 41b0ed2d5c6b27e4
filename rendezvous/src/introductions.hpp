// rendezvous — pending introductions: one token and one pair of roles per pair of names.
//
// An introduction stays pending for a fixed time after it is made, so that a retried request,
// or two clients naming each other at once, get the same token and the same roles: exactly one
// session per pair. The time-to-live is counted from creation and not extended by resends, so a
// client that keeps asking still gets a fresh token once the old one is stale.
//
// It is remembered for longer than it is reused (`keep` against `ttl`): its two sides may pass
// relay offers through the server (PROTOCOL.md §4.11) for as long as either may still be setting
// up the session it started, which can begin up to `ttl` after the introduction was made.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "registry.hpp"  // TimePoint

namespace rendezvous {

/// One introduction whose token is still being handed out.
struct Pending {
    std::uint64_t token = 0;
    std::string initiator;  ///< the name that asked first; only it calls enet_host_connect
    std::string responder;
    TimePoint created{};
    std::uint32_t source_ip =
        0;  ///< the requester's IP: its cap (Config::max_introductions_per_ip)
};

/// Pending introductions keyed by the unordered pair of names.
class Introductions {
  public:
    /// `ttl`: how long an introduction is handed out again; `keep` (at least `ttl`): how long it
    /// is remembered, for known().
    Introductions(std::chrono::milliseconds ttl, std::chrono::milliseconds keep)
        : ttl_(ttl), keep_(std::max(keep, ttl)) {}
    explicit Introductions(std::chrono::milliseconds ttl) : Introductions(ttl, ttl) {}

    /// The pending introduction of `a` and `b` (in either order) to hand out again, or nullptr.
    [[nodiscard]] const Pending* find(std::string_view a, std::string_view b, TimePoint now) const;
    /// The introduction of `a` and `b` still remembered (made less than `keep` ago), or nullptr.
    [[nodiscard]] const Pending* known(std::string_view a, std::string_view b, TimePoint now) const;

    /// Records a new introduction, replacing any stale one of the same pair. `source_ip`: where
    /// the request that made it came from (counted by from_ip()).
    const Pending& add(std::string_view initiator, std::string_view responder, std::uint64_t token,
                       TimePoint now, std::uint32_t source_ip = 0);

    /// Drops every pending introduction involving `name` (it moved, restarted or left).
    /// Returns how many were dropped.
    std::size_t forget(std::string_view name);

    /// Drops the introductions older than `keep`. Returns how many.
    std::size_t sweep(TimePoint now);

    /// Introductions remembered, counting those older than `keep` not yet swept.
    [[nodiscard]] std::size_t size() const { return pending_.size(); }
    /// Introductions remembered that a request from `ip` made.
    [[nodiscard]] std::size_t from_ip(std::uint32_t ip) const;

  private:
    using Key = std::pair<std::string, std::string>;  // first < second
    static Key key_of(std::string_view a, std::string_view b);
    [[nodiscard]] const Pending* lookup(std::string_view a, std::string_view b) const;
    void erase(const Key& key);
    void uncount(std::uint32_t ip);

    std::chrono::milliseconds ttl_;
    std::chrono::milliseconds keep_;
    std::map<Key, Pending> pending_;
    // (x, y) and (y, x) for every pending pair, so that forget(x) finds x's partners in log time.
    std::set<Key> partners_;
    std::unordered_map<std::uint32_t, std::size_t> per_ip_;  // by Pending::source_ip
};

}  // namespace rendezvous
