// rendezvous — pending introductions: one token and one pair of roles per pair of names.
//
// An introduction stays pending for a fixed time after it is made, so that a retried request,
// or two clients naming each other at once, get the same token and the same roles: exactly one
// session per pair. The time-to-live is counted from creation and not extended by resends, so a
// client that keeps asking still gets a fresh token once the old one is stale.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "registry.hpp"  // TimePoint

namespace rendezvous {

/// One introduction whose token is still being handed out.
struct Pending {
    std::uint64_t token = 0;
    std::string initiator;  ///< the name that asked first; only it calls enet_host_connect
    std::string responder;
    TimePoint created{};
};

/// Pending introductions keyed by the unordered pair of names.
class Introductions {
  public:
    explicit Introductions(std::chrono::milliseconds ttl) : ttl_(ttl) {}

    /// The live pending introduction of `a` and `b` (in either order), or nullptr.
    [[nodiscard]] const Pending* find(std::string_view a, std::string_view b, TimePoint now) const;

    /// Records a new introduction, replacing any stale one of the same pair.
    const Pending& add(std::string_view initiator, std::string_view responder, std::uint64_t token,
                       TimePoint now);

    /// Drops every pending introduction involving `name` (it moved, restarted or left).
    /// Returns how many were dropped.
    std::size_t forget(std::string_view name);

    /// Drops the introductions older than the time-to-live. Returns how many.
    std::size_t sweep(TimePoint now);

    [[nodiscard]] std::size_t size() const { return pending_.size(); }

  private:
    using Key = std::pair<std::string, std::string>;  // first < second
    static Key key_of(std::string_view a, std::string_view b);
    [[nodiscard]] bool live(const Pending& p, TimePoint now) const {
        return now - p.created < ttl_;
    }
    void erase(const Key& key);

    std::chrono::milliseconds ttl_;
    std::map<Key, Pending> pending_;
    // (x, y) and (y, x) for every pending pair, so that forget(x) finds x's partners in log time.
    std::set<Key> partners_;
};

}  // namespace rendezvous
