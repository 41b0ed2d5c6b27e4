// The player's one TURN allocation (docs/NAT.md "Relay", docs/RELAY.md): allocated on the
// servers an introduction granted, in order (the next one when a server fails), with credentials
// renewed at half their lifetime (PROTOCOL.md §4.11), a permission per peer IP, made anew when
// the server lost it (a restarted TURN server: docs/RELAY.md), and released when no connection
// needs it any more (a released allocation's client lingers to re-send its release
// until the server confirms it). No socket and no clock: the session feeds it the datagrams from
// its TURN server, and it sends through a RawOutbox and the rendezvous client.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "netcore/protocol.hpp"
#include "netcore/session.hpp"
#include "outbox.hpp"
#include "rendezvous_client.hpp"
#include "turn_client.hpp"

namespace netcore::detail {

class Relay {
  public:
    /// `timing`: every TURN client's retransmissions (Config::turn_rto).
    explicit Relay(TurnTiming timing = {}) : timing_(timing) {}

    /// The permissions an allocation holds at most: two per peer (its public IP and the IP its
    /// TURN server saw).
    static constexpr std::size_t kMaxPermits = 2 * 16;

    /// What a datagram from a TURN server's address was.
    struct Received {
        enum class Kind {
            not_ours,   ///< not from one of our TURN servers
            consumed,   ///< a TURN answer, handled
            dropped,    ///< malformed, or relayed data after the allocation was released
            peer_data,  ///< `payload` came from `peer` (its address as our TURN server saw it)
        } kind = Kind::not_ours;
        std::span<const std::uint8_t> payload;
        Address peer;
    };

    /// Allocates on the first server of `grant`, for the introduction `token` with `peer`:
    /// the credentials are scoped to that pair, and renewed for it (RelayRenew).
    void start(const protocol::RelayGrant& grant, std::uint64_t token, std::string_view peer,
               TimePoint now, RawOutbox& out);
    /// A standing relay (Config::standing_relay): credentials scoped to our registration
    /// (RelayCredentials with token 0, renewed with RelayRenew{0, our name}). Allocates on
    /// `grant` when nothing is allocated yet; else the allocation made for an introduction
    /// becomes the standing one (it keeps its username: the credentials serve the next Allocate).
    void stand(const protocol::RelayGrant& grant, std::string_view name, TimePoint now,
               RawOutbox& out);
    /// The allocation is held for our registration, not for an introduction.
    [[nodiscard]] bool standing() const { return standing_ && turn_.has_value(); }
    /// True from start() until stop().
    [[nodiscard]] bool started() const { return turn_.has_value(); }
    /// Lets `ip` send to our relayed address (sent once the allocation is up).
    void want_permit(std::uint32_t ip);
    /// No connection has a peer at `ip` any more: its permission lapses and its slot is free.
    /// A standing relay outlives its connections, and the TURN client holds 8 IPs at most.
    void drop_permit(std::uint32_t ip);

    /// Fresh credentials for our pair. False when we renew none or they are not our pair's.
    bool on_credentials(const protocol::RelayCredentials& fresh, TimePoint now);

    /// What the connections need of the relay, each update.
    struct Use {
        bool setting_up = false;  ///< a connection is still punching or connecting
        /// A connection may still allocate or is relayed: renew the credentials (a direct
        /// session never allocates again: it renews nothing).
        bool renew = false;
        bool relayed = false;    ///< a connection is connected over the relay
        Duration silence{1200};  ///< Config::path_silence: when to check the allocation then
        /// A connection is connected on another path and holds the relay on standby: its peer's
        /// standby probes come through it every Config::standby_interval.
        bool standby = false;
        Duration standby_silence{10000};  ///< when to check it then: two standby intervals
    };
    /// Renews; fails over to the grant's next server while a connection sets up; checks the
    /// allocation when the relayed peers fall silent and makes it anew when it is lost (the
    /// same server first when it answered, else the next); keeps the permissions.
    void update(TimePoint now, const Use& use, RendezvousClient& rendezvous, RawOutbox& out);

    /// Sorts a datagram from a TURN server's address.
    Received handle(std::span<const std::uint8_t> data, Address from, TimePoint now,
                    RawOutbox& out);

    /// Releases the allocation (re-sending the release for a while); forgets the grant.
    void stop(TimePoint now, RawOutbox& out);
    /// Forgets what renews the credentials (the introduction ended), not the allocation. A
    /// standing relay's credentials are our registration's: they are kept.
    void stop_renewing() {
        if (!standing_) expiry_ = 0;
    }
    /// The introduction the credentials are scoped to ended while others still use the
    /// allocation: renew them for `token` with `peer` (the server scopes credentials to a pair).
    void rescope(std::uint64_t token, std::string_view peer) {
        if (standing_) return;
        token_ = token;
        peer_ = peer;
    }
    [[nodiscard]] std::uint64_t token() const { return token_; }

    [[nodiscard]] bool allocated() const {
        return turn_ && turn_->state() == TurnClient::State::allocated;
    }
    /// Frames `sealed` for `peer` (its relayed address) through our allocation; 0 when it cannot.
    [[nodiscard]] std::size_t wrap(Address peer, std::span<const std::uint8_t> sealed,
                                   std::span<std::uint8_t> out);
    [[nodiscard]] bool is_server(Address a) const { return turn_ && turn_->is_server(a); }
    [[nodiscard]] Address server() const { return turn_ ? turn_->server() : Address{}; }
    [[nodiscard]] Address relayed() const { return turn_ ? turn_->relayed() : Address{}; }
    [[nodiscard]] Address mapped() const { return turn_ ? turn_->mapped() : Address{}; }
    [[nodiscard]] std::uint32_t renewals() const { return renewals_; }
    /// Allocations started since start(): a connection whose peer learned an earlier one's
    /// relayed address offers the new one.
    [[nodiscard]] std::uint32_t allocation() const { return allocations_; }
    /// Allocations that were lost and made anew (a restarted or unreachable TURN server).
    [[nodiscard]] std::uint32_t reallocations() const { return reallocations_; }
    /// What the allocation is doing, for a punch_failed sentence ("; relay: ..."), or "".
    [[nodiscard]] std::string status(bool peer_relay_known) const;

  private:
    void start_turn(TimePoint now, RawOutbox& out);
    void reallocate(std::size_t server, TimePoint now, RawOutbox& out);
    void watch(const Use& use, TimePoint now, RawOutbox& out);
    void take_credentials(const protocol::RelayGrant& grant, TimePoint now);

    TurnTiming timing_;
    std::optional<TurnClient> turn_;
    std::optional<TurnClient> retiring_;  // released, re-sending the release
    TimePoint retire_until_{};
    std::array<Address, protocol::kMaxRelayServers> servers_{};  // from the grant, in order
    std::size_t server_count_ = 0;
    std::size_t server_next_ = 0;  // the next to try when the current one fails
    std::size_t server_at_ = 0;    // the current one's index
    TurnCredentials credentials_;  // for the next Allocate; renewed
    // Renewal (PROTOCOL.md §4.11): credentials live minutes, so while a connection may still
    // allocate or is relayed we ask for fresh ones at half their lifetime. A live allocation
    // keeps the username it was made under (TURN wants one username per allocation).
    std::int64_t expiry_ = 0;  // unix seconds of credentials_; 0: none to renew
    std::uint64_t token_ = 0;  // the introduction the grant is scoped to; 0: our registration
    bool standing_ = false;    // stand(): the credentials are our registration's
    std::string peer_;         // its peer
    TimePoint next_renew_{};
    std::array<std::uint32_t, kMaxPermits> permits_{};  // peer IPs our relay must let in
    std::size_t permits_wanted_ = 0;
    std::size_t permits_sent_ = 0;
    std::uint32_t renewals_ = 0;
    // Watching the allocation while relayed: the relay is silent when nothing came through it
    // for Use::silence; then a Refresh checks it (TurnClient::check).
    TimePoint heard_{};        // peer data last came through it, or it came up
    TimePoint checked_{};      // the last check began
    bool up_ = false;          // turn_ was seen allocated
    bool recovering_ = false;  // turn_ replaces a lost allocation
    TimePoint attempt_at_{};   // turn_ was started
    std::uint32_t allocations_ = 0;
    std::uint32_t reallocations_ = 0;
};

/// The unix expiry of a TURN-REST username "<unix seconds>:<user>" (PROTOCOL.md §4.11), or 0
/// when it does not start with one.
[[nodiscard]] std::int64_t relay_username_expiry(std::string_view username);

}  // namespace netcore::detail
