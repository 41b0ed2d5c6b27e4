// A TURN client over UDP (RFC 8656; STUN RFC 8489): allocate a relayed address with long-term
// credentials, keep it, its permissions and its channels refreshed, and tell the peer data the
// server relays from everything else. It never touches a socket: the session feeds it the
// datagrams that come from the server and sends what it asks through a RawOutbox, from the one
// ENet socket (DESIGN.md decision 1). docs/TURN.md says what it does and leaves out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "netcore/address.hpp"
#include "netcore/session.hpp"
#include "outbox.hpp"
#include "stun_message.hpp"

namespace netcore::detail {

/// Long-term credentials; for a TURN REST server, username "<unix expiry>:<name>" and
/// password base64(HMAC-SHA1(secret, username)).
struct TurnCredentials {
    std::string username;
    std::string password;
};

/// When a request is sent again (RFC 8489 §6.2.1, faster): a game wants its relay, or the news
/// that there is none, quickly, so the first RTO is 250 ms, not 500; it doubles up to 2 s, for 7
/// sends, and the request fails one RTO (2 s) after the last: sends at 0, 0.25, 0.75, 1.75, 3.75,
/// 5.75, 7.75 s, failure at 9.75 s. Tests set a shorter one.
struct TurnTiming {
    Duration initial_rto{250};
    Duration max_rto{2000};
    int max_sends = 7;

    /// The default schedule scaled so that its first RTO is `initial_rto` (Config::turn_rto).
    [[nodiscard]] static TurnTiming scaled(Duration initial_rto) {
        return {initial_rto, initial_rto * 8, 7};
    }
    /// From the first send to the failure of a request that is never answered.
    [[nodiscard]] Duration give_up_after() const;
};

/// Where the TURN client's datagrams go: the session sends them from the one ENet socket.
class TurnClient {
  public:
    /// idle until start(); allocating until the Allocate succeeds; failed (error() says why)
    /// and released are final until the next start().
    enum class State { idle, allocating, allocated, failed, released };

    /// What one datagram from the TURN server was.
    struct Received {
        /// consumed: a response we used; dropped: malformed/unexpected (count it).
        enum class Kind { consumed, peer_data, dropped } kind = Kind::dropped;
        /// peer_data: the peer's bytes, a view INTO the datagram (no copy).
        std::span<const std::uint8_t> payload;
        /// peer_data: the peer's transport address as the relay saw it.
        Address peer;
    };

    /// What happened so far, for stats. Every field only grows until the next start().
    struct Counters {
        std::uint32_t requests_sent = 0;        ///< request datagrams, retransmissions included
        std::uint32_t retransmissions = 0;      ///< of those, sent again for want of an answer
        std::uint32_t stale_nonces = 0;         ///< 438 answers, each resent with the new nonce
        std::uint32_t refreshes = 0;            ///< successful Refreshes of the allocation
        std::uint32_t permission_failures = 0;  ///< CreatePermission refused (403 ...), or no slot
        std::uint32_t channel_failures = 0;     ///< ChannelBind refused, or no channel free
        std::uint32_t integrity_failures = 0;   ///< responses whose MESSAGE-INTEGRITY was wrong
        std::uint64_t dropped = 0;              ///< datagrams handle() returned as dropped
        std::uint64_t data_indications = 0;     ///< peer datagrams that came in Data indications
        std::uint64_t channel_data = 0;         ///< peer datagrams that came as ChannelData
    };

    /// Peer IPs with a permission (RFC 8656 §9): a game has one peer, seen at one or two IPs.
    static constexpr std::size_t kMaxPermissions = 8;
    /// Peer transport addresses with a channel (RFC 8656 §12), numbered from 0x4000.
    static constexpr std::size_t kMaxChannels = 8;
    /// Permissions last 300 s (RFC 8656 §9); refreshed well before, so a lost refresh has time
    /// for its retransmissions and one more try.
    static constexpr Duration kPermissionRefresh{120000};
    /// Channels last 600 s (RFC 8656 §12); refreshed at half.
    static constexpr Duration kChannelRefresh{300000};
    /// 438 Stale Nonce answers to one request in a row before we give up on it: a server whose
    /// every fresh nonce is stale is broken, and we must not loop with it.
    static constexpr int kMaxStaleNonces = 3;
    /// 437 Allocation Mismatch to an Allocate: the server still holds an allocation on our
    /// 5-tuple (coturn keeps a released one about a second). Tried again after kMismatchWait,
    /// up to kMaxMismatches times, then failed.
    static constexpr Duration kMismatchWait{1000};
    static constexpr int kMaxMismatches = 3;

    explicit TurnClient(TurnTiming timing = {});

    /// Sends the first Allocate (unauthenticated: the server's 401 tells the realm and nonce).
    /// Starts over when called again; the previous allocation, if any, is forgotten, not released.
    void start(Address server, TurnCredentials credentials, TimePoint now, RawOutbox& out);
    /// True when `from` is our TURN server (so the datagram is ours).
    [[nodiscard]] bool is_server(Address from) const;
    /// One datagram from the server. Never allocates for ChannelData.
    Received handle(std::span<const std::uint8_t> datagram, TimePoint now, RawOutbox& out);
    /// Retransmissions, Refresh, permission and channel refreshes.
    void update(TimePoint now, RawOutbox& out);
    /// CreatePermission for the peer's IP (the port is ignored): idempotent, kept refreshed,
    /// up to kMaxPermissions IPs. Before the allocation exists it is sent once it does.
    void permit(Address peer_ip_as_address, TimePoint now, RawOutbox& out);
    /// No peer at `ip` any more: its permission is no longer refreshed (the server lets it
    /// expire), what comes from there is dropped, and its slot is free for another IP.
    void unpermit(std::uint32_t ip);
    /// Checks at once that the server still holds the allocation: a Refresh now, unless one is
    /// under way. A server that lost it (restarted) answers an error, and the client fails with
    /// its code; one that is gone lets the Refresh go unanswered. Allocated only.
    void check(TimePoint now, RawOutbox& out);
    /// A Refresh (a check or the periodic one) is waiting for its answer.
    [[nodiscard]] bool refreshing() const {
        return state_ == State::allocated && allocation_tx_.active &&
               allocation_tx_.op == Op::refresh;
    }
    /// Refresh with LIFETIME 0, best effort (retransmitted by update() until answered), then
    /// State::released at once.
    void release(RawOutbox& out);

    /// Frames `payload` for `peer` through the relay: ChannelData when a channel to that exact
    /// address is bound, else a Send indication. Returns the size written into `out` (send it
    /// to the server), or 0 when not allocated, the peer's IP has no permission yet, or `out`
    /// is too small (ChannelData needs 4 bytes more than the payload, a Send indication 36 plus
    /// the padding to 4 bytes).
    [[nodiscard]] std::size_t wrap(Address peer, std::span<const std::uint8_t> payload,
                                   std::span<std::uint8_t> out);

    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] Address server() const { return server_; }
    /// XOR-RELAYED-ADDRESS once allocated.
    [[nodiscard]] Address relayed() const { return relayed_; }
    /// XOR-MAPPED-ADDRESS from the Allocate response.
    [[nodiscard]] Address mapped() const { return mapped_; }
    /// The allocation's lifetime as the server last granted it.
    [[nodiscard]] Duration lifetime() const { return lifetime_; }
    /// One human sentence once failed.
    [[nodiscard]] const std::string& error() const { return error_; }
    /// The error code the server answered when that made us fail (401, 486 ...), else 0.
    [[nodiscard]] int error_code() const { return error_code_; }
    /// A CreatePermission (or ChannelBind) for ip succeeded.
    [[nodiscard]] bool permitted(std::uint32_t ip) const;
    /// The channel bound to `peer` (0x4000-0x4FFF), or 0 when none is bound yet.
    [[nodiscard]] std::uint16_t channel(Address peer) const;
    /// The server answered our release (Refresh with LIFETIME 0).
    [[nodiscard]] bool release_confirmed() const { return release_confirmed_; }
    [[nodiscard]] const Counters& counters() const { return counters_; }

  private:
    enum class Op : std::uint8_t { allocate, refresh, permission, channel, release };

    /// One request until it is answered or given up: retransmitted with the same id, rebuilt
    /// from the current state each time (so a new nonce is used at once).
    struct Transaction {
        bool active = false;
        Op op = Op::allocate;
        std::uint8_t slot = 0;  // the permission's or channel's index
        std::uint8_t sends = 0;
        std::uint8_t stale_nonces = 0;
        std::uint8_t mismatches = 0;  // 437 answers to an Allocate
        stun::TransactionId id{};
        TimePoint next{};  // when to retransmit, or give up after the last send
        Duration rto{};
    };
    struct Permission {
        bool used = false;
        bool installed = false;  // the server confirmed it
        bool failed = false;     // the server refused it: not retried until permit() again
        std::uint32_t ip = 0;
        TimePoint refresh_at{};
        Transaction tx;
    };
    struct Channel {
        bool used = false;
        bool bound = false;
        bool failed = false;
        Address peer;
        TimePoint refresh_at{};
        Transaction tx;
    };

    void begin(Transaction& tx, Op op, std::uint8_t slot, TimePoint now, RawOutbox& out);
    void restart(Transaction& tx, TimePoint now, RawOutbox& out);
    void transmit(Transaction& tx, TimePoint now, RawOutbox& out);
    void finish(Transaction& tx);
    [[nodiscard]] bool was_answered(const stun::TransactionId& id) const;
    Received dispatch(std::span<const std::uint8_t> datagram, TimePoint now, RawOutbox& out);
    [[nodiscard]] std::span<const std::uint8_t> build(const Transaction& tx);
    void tick(Transaction& tx, TimePoint now, RawOutbox& out);
    Received on_error(Transaction& tx, const stun::Message& m, TimePoint now, RawOutbox& out);
    void on_success(Transaction& tx, const stun::Message& m, TimePoint now, RawOutbox& out);
    Received on_data_indication(const stun::Message& m, TimePoint now, RawOutbox& out);
    Received on_channel_data(std::span<const std::uint8_t> datagram);
    [[nodiscard]] Transaction* find_transaction(const stun::TransactionId& id);
    [[nodiscard]] Permission* find_permission(std::uint32_t ip);
    [[nodiscard]] const Permission* find_permission(std::uint32_t ip) const;
    [[nodiscard]] Channel* find_channel(Address peer);
    void bind_channel(Address peer, TimePoint now, RawOutbox& out);
    void schedule_refresh(std::uint32_t lifetime_s, TimePoint now);
    void fail(std::string sentence, int code = 0);
    [[nodiscard]] stun::TransactionId new_id();
    [[nodiscard]] static stun::Method method_of(Op op);
    [[nodiscard]] static const char* name_of(Op op);

    TurnTiming timing_;
    State state_ = State::idle;
    Address server_;
    TurnCredentials credentials_;
    std::string realm_;
    std::string nonce_;
    stun::IntegrityKey key_;  // empty until the first 401 told the realm
    Address relayed_;
    Address mapped_;
    Duration lifetime_{0};
    std::uint32_t granted_s_ = 0;  // the Allocate's LIFETIME, asked for again on each Refresh
    TimePoint refresh_at_{};
    TimePoint last_now_{};  // the latest time we were given: release() has none of its own
    std::string error_;
    int error_code_ = 0;
    bool release_confirmed_ = false;

    Transaction allocation_tx_;  // Allocate, then Refresh, then the release
    // The ids of the last requests answered, so that the answer to a retransmission of one
    // counts as consumed rather than dropped.
    std::array<stun::TransactionId, 8> answered_{};
    std::uint32_t answered_count_ = 0;
    std::array<Permission, kMaxPermissions> permissions_{};
    std::array<Channel, kMaxChannels> channels_{};

    // Transaction ids are HMAC-SHA1(secret seed, counter): cryptographically random as
    // RFC 8489 §5 asks, without a system call per id.
    stun::IntegrityKey id_key_;
    std::uint64_t id_counter_ = 0;

    Counters counters_;
    std::array<std::uint8_t, stun::kMaxRequestSize> buffer_{};  // the request being sent
};

[[nodiscard]] const char* to_string(TurnClient::State s);

}  // namespace netcore::detail
