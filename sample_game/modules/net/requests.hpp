// net — the lobby's incoming requests: players who asked to play with us. Pure, tested.
//
// netcore introduces two players only when each asked for the other (Consent::mutual). When
// someone asks for us first, the session reports introduction_requested; the lobby lists it
// ("bob wants to play  [Accept]") and Accept asks for that player in return, which completes
// the introduction. Nothing about us reaches the asker before we accept.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <netcore/session.hpp>

namespace net {

class IncomingRequests {
  public:
    /// How long a request stays listed after it was last made. The asker's game waits for its
    /// friend this long by default (NetOptions::peer_wait), and asks again meanwhile.
    static constexpr netcore::Duration kShownFor{60000};
    /// The most requests listed: the oldest goes first (a lobby, not a mailbox).
    static constexpr std::size_t kMaxShown = 8;

    struct Request {
        std::string name;
        netcore::TimePoint first;  ///< when it first asked
        netcore::TimePoint last;   ///< when it last asked
    };

    /// `name` asked to play (again): listed, or its time refreshed.
    void add(std::string_view name, netcore::TimePoint now);
    /// Accepted, joined or gone: no longer listed.
    void remove(std::string_view name);
    void clear() { list_.clear(); }
    /// Drops what was not asked again within kShownFor.
    void expire(netcore::TimePoint now);

    [[nodiscard]] const std::vector<Request>& list() const { return list_; }
    [[nodiscard]] bool empty() const { return list_.empty(); }

    /// What the lobby shows for one request: "bob wants to play (12 s ago)".
    [[nodiscard]] static std::string describe(const Request& r, netcore::TimePoint now);

  private:
    std::vector<Request> list_;  // oldest first
};

/// Who a player accepts without pressing Accept (headless runs: --accept-from, --accept-any).
struct AutoAccept {
    bool anyone = false;
    std::vector<std::string> names;

    [[nodiscard]] bool accepts(std::string_view name) const;
};

}  // namespace net
