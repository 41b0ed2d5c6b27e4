// rendezvous — requests waiting for consent (docs/PROTOCOL.md §4.12).
//
// "A wants B", stored when A asks for B and B has not consented (B is no open host and has no
// live request for A). It lives while A keeps asking: `ttl` after A's last ask it is gone. When
// B asks for A in return, the pair is introduced. Bounded three ways, all checked before a new
// request is stored: per source IP, per asking name, and in all.
#pragma once

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

/// How many pending requests one source may hold, and all of them together.
struct RequestCaps {
    std::size_t per_ip = 16;    ///< from one source IP (many names, many ports)
    std::size_t per_name = 8;   ///< by one asking name
    std::size_t total = 10000;  ///< in the whole table
};

/// One request waiting for consent.
struct Request {
    std::uint32_t source_ip = 0;  ///< where the asker's requests come from: its cap
    TimePoint last_asked{};       ///< it lives `ttl` after this
    TimePoint last_notified{};    ///< when the asked side was last sent IntroductionAsked
};

/// What Requests::ask did.
enum class Asked : std::uint8_t {
    stored,     ///< a new request: tell the asked side
    refreshed,  ///< it was pending already: its life starts again
    ip_full,    ///< new, but its source IP holds per_ip requests: nothing stored
    name_full,  ///< new, but the asking name holds per_name requests: nothing stored
    full,       ///< new, but the table holds `total`: nothing stored
};

class Requests {
  public:
    Requests(std::chrono::milliseconds ttl, RequestCaps caps) : ttl_(ttl), caps_(caps) {}

    /// `asker` (from `source_ip`) asks for `asked` at `now`: refreshes its request, or stores a
    /// new one if every cap allows it. Returns the request for stored and refreshed, else
    /// nullptr (see `outcome`).
    Request* ask(std::string_view asker, std::string_view asked, std::uint32_t source_ip,
                 TimePoint now, Asked& outcome);

    /// True when `asker` asked for `asked` less than `ttl` ago.
    [[nodiscard]] bool live(std::string_view asker, std::string_view asked, TimePoint now) const;

    /// Drops the requests between `a` and `b`, both ways (they were introduced).
    void erase_pair(std::string_view a, std::string_view b);
    /// Drops every request by or for `name` (released, expired, unregistered, moved).
    std::size_t forget(std::string_view name);
    /// Drops the requests not renewed for `ttl`. Returns how many.
    std::size_t sweep(TimePoint now);

    [[nodiscard]] std::size_t size() const { return requests_.size(); }
    [[nodiscard]] std::size_t from_ip(std::uint32_t ip) const;

  private:
    using Key = std::pair<std::string, std::string>;  // (asker, asked)
    void erase(std::map<Key, Request>::iterator it);

    std::chrono::milliseconds ttl_;
    RequestCaps caps_;
    std::map<Key, Request> requests_;
    std::set<Key> by_asked_;  // (asked, asker) for each request: forget() finds both sides
    std::unordered_map<std::uint32_t, std::size_t> per_ip_;
    std::unordered_map<std::string, std::size_t> per_name_;
};

}  // namespace rendezvous
