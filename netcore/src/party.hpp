// The client side of a party (PROTOCOL.md §4.15, issue 12): join by name and keep the
// membership alive with PartyJoin every Config::party_refresh, carrying the epoch of the member
// list we hold; follow the server's PartyMembers (members in join order, the first the host) and
// tell the game what changed; ask the game about players who want in (a party that admits); and
// leave. No socket and no clock: the session feeds it the server's party messages, and it sends
// through a SignalSender; what happened goes to the session's event queue.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "event_queue.hpp"
#include "netcore/protocol.hpp"
#include "netcore/session.hpp"

namespace netcore::detail {

/// Where the party client's signals go: the rendezvous client seals them for the server.
class SignalSender {
  public:
    /// Sends one message to the server; false when it cannot yet (no key).
    virtual bool send_signal(const protocol::Message& message) = 0;
    /// Our registration's instance (PROTOCOL.md §4.1), which every party message carries.
    [[nodiscard]] virtual std::uint64_t instance() const = 0;

  protected:
    ~SignalSender() = default;
};

class PartyClient {
  public:
    /// A player who asks to join is reported once while it keeps asking: the server re-sends
    /// PartyJoinAsked while the player asks, so one not heard of for this long stopped.
    static constexpr Duration kAskerMemory{10000};
    /// The most askers remembered at once; beyond it, no more join_requested events.
    static constexpr std::size_t kMaxAskers = 64;

    PartyClient(std::string me, Duration refresh, EventQueue& events)
        : me_(std::move(me)), refresh_(refresh), events_(events) {}

    /// Starts joining `party` (sent at the next update() once registered). invalid_argument for
    /// a bad name, or while in a party (joining or joined).
    Error join(std::string_view party, PartyOptions options);
    /// Sends PartyJoin when due: at once after join() (once `registered`), then every refresh.
    void update(TimePoint now, bool registered, SignalSender& out);
    /// Leaves the party (PartyLeave); nothing when in none.
    void leave(SignalSender& out);
    /// As the host of a party that admits: lets `player` in (PartyAdmit).
    Error admit(std::string_view player, SignalSender& out);

    // ---- from the server --------------------------------------------------------------
    void on_members(const protocol::PartyMembers& members);
    void on_refused(const protocol::PartyRefused& refused);
    void on_join_asked(const protocol::PartyJoinAsked& asked, TimePoint now);

    /// Joining or joined: introductions flagged party are welcome.
    [[nodiscard]] bool active() const { return !party_.name.empty(); }
    [[nodiscard]] const Party& party() const { return party_; }
    /// True when `name` is listed in the party (us included).
    [[nodiscard]] bool is_member(std::string_view name) const;
    [[nodiscard]] std::uint32_t joins_sent() const { return joins_sent_; }

  private:
    void emit(EventType type, std::string peer, std::string detail = {});
    void fail(Error error, std::string detail);

    std::string me_;
    Duration refresh_;
    EventQueue& events_;
    Party party_;
    std::uint8_t flags_ = 0;  // PartyFlags of our PartyJoin
    bool sent_ = false;       // a PartyJoin went out for this join
    TimePoint next_join_{};
    std::uint32_t joins_sent_ = 0;
    std::map<std::string, TimePoint, std::less<>> askers_;  // who asked to join, and when last
};

}  // namespace netcore::detail
