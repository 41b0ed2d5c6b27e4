// rendezvous — the server: who is online, and introductions between them (docs/PROTOCOL.md).
//
// The protocol logic, handle() and tick(), never touches a socket or a clock: a datagram, its
// source and the time go in, replies come out in an Outbox. Unit tests drive it directly and
// step time. The socket part, open() and poll(), feeds it from one real UDP socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cookies.hpp"
#include "counters.hpp"
#include "introductions.hpp"
#include "log.hpp"
#include "netcore/address.hpp"
#include "netcore/keys.hpp"
#include "netcore/protocol.hpp"
#include "outbox.hpp"
#include "owners.hpp"
#include "parties.hpp"
#include "rate_limiter.hpp"
#include "registry.hpp"
#include "relay_grants.hpp"
#include "requests.hpp"
#include "stun_binding.hpp"
#include "turn_credentials.hpp"
#include "udp_socket.hpp"

namespace rendezvous {

/// Seconds since 1970 (UTC) from the system clock: what TURN-REST usernames count in.
[[nodiscard]] std::int64_t system_unix_time();

/// TURN relays granted in Introductions (PROTOCOL.md §4.11). No servers: no grant.
struct TurnConfig {
    /// At most protocol::kMaxRelayServers; clients try them in this order.
    std::vector<netcore::Address> servers;
    /// The servers' shared secret (coturn's static-auth-secret with use-auth-secret).
    std::string secret;
    /// How long a credential is valid: minutes, and renewed (RelayRenew) while the session lives.
    /// A TURN server refuses an Allocate under an expired one; coturn 4.6.1 checks only the first
    /// authenticated request of an allocation, so an allocation outlives its credential while it
    /// is refreshed (docs/PROTOCOL.md §4.11 has the source lines).
    std::chrono::seconds ttl{600};
    /// Grant standing relays (PROTOCOL.md §4.11, token 0): each registered player who asks then
    /// holds an allocation (a relay port) on the TURN servers while registered. Off
    /// (--no-standing-relays): such requests are dropped, and relays are per introduction only.
    bool standing = true;
    /// Read once per grant. Tests fix it.
    std::function<std::int64_t()> unix_clock = system_unix_time;
};

/// The most a credential may live: an hour. Renewals keep a longer session going; a credential
/// that lives longer is a relay its holder keeps after the introduction is over.
inline constexpr std::chrono::seconds kMaxTurnTtl{3600};

/// The server's tunables. Defaults are the command line's.
struct Config {
    /// Tells clients how often to re-register: well inside the 30 s UDP timeout of many home
    /// routers, so the NAT mapping the server saw stays open.
    std::chrono::milliseconds refresh{15000};
    /// A name is dropped this long after its last Register: three missed refreshes.
    std::chrono::milliseconds expiry{45000};
    /// The most names held at once; a new name beyond it gets server_full.
    std::size_t max_names = 100000;
    /// How long an introduction's token and roles are reused for the same pair of names.
    std::chrono::milliseconds intro_ttl{10000};
    /// How long after an introduction is made its two sides may pass relay offers through the
    /// server: a session may start up to intro_ttl after it (a retry that reused the token), then
    /// punch for 10 s (the client's punch_timeout), and under loss its Introduction may arrive a
    /// few request retries (1 s each) late: 10 + 10 + margin. Past it, a pair granted a relay
    /// may still re-offer on its grant record (PROTOCOL.md §4.11).
    std::chrono::milliseconds relay_offer_window{30000};
    /// How often tick() drops expired names and stale introductions.
    std::chrono::milliseconds sweep_interval{1000};
    /// The most introductions remembered at once; a request for a new pair beyond it is dropped.
    /// Each costs two names and a token (~150 bytes); 10 000 is far above what 100 000 names
    /// asking at a sane pace keep remembered for relay_offer_window (some 330 new pairs a second).
    std::size_t max_introductions = 10000;
    /// The most of those a request from one source IP made, checked before one is stored:
    /// without it ~17 IPs filled the table (issue 11). An honest client makes one at a time;
    /// 32 leaves room for a household or a carrier-grade NAT sharing an IP.
    std::size_t max_introductions_per_ip = 32;
    /// Consent (PROTOCOL.md §4.12): a request the asked side has not consented to waits this
    /// long after its last ask. Clients ask again every second (their request_retry): 10 s
    /// outlives a few lost asks, and forgets soon a player who stopped asking.
    std::chrono::milliseconds request_ttl{10000};
    /// IntroductionAsked goes to the asked side when a request is new, then at most this often
    /// while the asker keeps asking: a lost one is made good, a player is not flooded.
    std::chrono::milliseconds request_notify_interval{5000};
    /// Caps on the requests waiting for consent, checked before one is stored.
    RequestCaps requests;
    /// One window of the address-validation cookies: a cookie lives one to two windows. Twice
    /// the default refresh, so a registered client meets a Challenge at most every other refresh.
    std::chrono::milliseconds cookie_window{30000};
    /// Per-source-IP limits (PROTOCOL.md §7.1).
    RateLimits limits;
    /// TURN relays to grant (none by default).
    TurnConfig turn;
    /// Owned names (PROTOCOL.md §4.13): a binding holds its name this long after its owner was
    /// last seen. A month: a player back from holidays still finds the name.
    std::chrono::seconds name_hold{30LL * 24 * 3600};
    /// The most owned names held at once; a new one beyond it gets server_full. Each costs some
    /// 100 bytes of memory and a line of the names file.
    std::size_t max_owned_names = 100000;
    /// Where owned names are kept across restarts (--names-file); empty: in memory only.
    std::string names_file;
    /// What owned names' last-seen times count in (unix seconds). Tests fix it.
    std::function<std::int64_t()> unix_clock = system_unix_time;
    /// How many grants (credentials in Introductions and RelayCredentials) per IP and per name.
    GrantLimits grants;
    /// Parties (PROTOCOL.md §4.15): members per party, parties, parties per creating IP, asks.
    PartyLimits parties;
    /// A member not heard (no PartyJoin) for this long is dropped and the others told. Clients
    /// refresh every 1000 ms (Config::party_refresh): 5 s outlives four lost refreshes, and the
    /// others learn within 5 to 6 s (one sweep) that a member is gone.
    std::chrono::milliseconds party_ttl{5000};
    /// The server's long-term X25519 secret key (--key-file). None: a fresh one for this run.
    std::optional<netcore::SecretKey> secret_key;
};

/// Checks a Config. Returns an empty string, or one sentence naming the bad option.
[[nodiscard]] std::string validate(const Config& config);
/// Checks the TURN part alone, the same way.
[[nodiscard]] std::string validate(const TurnConfig& turn);

class Server {
  public:
    /// `config` must pass validate(). Logs to `log` (stderr at info by default).
    explicit Server(Config config = {}, Log log = {});
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // ---- protocol logic: no socket, no clock --------------------------------------------------

    /// Handles one datagram from `from`, received at `now`, appending any replies to `out`.
    /// Malformed datagrams are counted by reason and never answered.
    void handle(std::span<const std::uint8_t> datagram, netcore::Address from, TimePoint now,
                Outbox& out);

    /// Runs the timers due at `now`: every Config::sweep_interval, drops expired names (logging
    /// each), stale introductions and party members not heard for Config::party_ttl; what the
    /// other members are told of it (PartyMembers) goes to `out`. Cheap to call more often.
    void tick(TimePoint now, Outbox& out);
    /// The same, dropping what it would send: for callers that only step time.
    void tick(TimePoint now) {
        Outbox discard;
        tick(now, discard);
    }

    // ---- socket --------------------------------------------------------------------------------

    /// Binds the UDP socket to `bind` (ip 0 = every interface, port 0 = an ephemeral port).
    /// Returns false on failure, and then `error` (if given) says why in one sentence.
    [[nodiscard]] bool open(netcore::Address bind, std::string* error = nullptr);
    /// Closes the socket. The name table is kept.
    void close();
    /// The bound UDP port (the real one if 0 was asked), or 0 when not open.
    [[nodiscard]] std::uint16_t port() const { return socket_.local().port; }
    /// The bound address, or 0.0.0.0:0 when not open.
    [[nodiscard]] netcore::Address local_address() const { return socket_.local(); }

    /// Waits up to `timeout_ms` for datagrams, handles every one available (up to a batch cap,
    /// so timers still run under a flood), sends the replies, and runs tick(now). `now` is taken
    /// as the arrival time of what this call receives: pass the clock and a short timeout.
    /// Returns the number of datagrams handled. A signal ends the wait early.
    std::size_t poll(std::uint32_t timeout_ms, TimePoint now);

    // ---- observation ---------------------------------------------------------------------------

    /// Totals since construction, with the gauges sampled now.
    [[nodiscard]] Counters counters() const;
    [[nodiscard]] const Config& config() const { return config_; }
    /// Why Config::names_file could not be loaded (one sentence), or empty. While it is set the
    /// server never writes the file, so what it could not read is never lost.
    [[nodiscard]] const std::string& names_error() const { return names_error_; }
    /// Writes the owned names to Config::names_file now if they changed (tick() does it at most
    /// every few seconds; call it at shutdown). Returns an empty string, or why it failed.
    std::string flush_names();
    /// The key clients pin (`rendezvous --print-public-key`).
    [[nodiscard]] const netcore::PublicKey& public_key() const { return public_key_; }

  private:
    /// The signal a client sealed, once opened: who sent it, under which keys, and its counter.
    struct Sender {
        netcore::Address from;
        ClientKeys keys;
        std::uint64_t counter = 0;
    };

    void on_stun(std::span<const std::uint8_t> datagram, netcore::Address from, Outbox& out);
    void on_hello(netcore::Address from, TimePoint now, Outbox& out);
    void on_sealed(const netcore::protocol::Envelope& envelope, netcore::Address from,
                   TimePoint now, Outbox& out);
    void challenge(netcore::Address from, TimePoint now, Outbox& out);
    void on_register(const netcore::protocol::RegisterRequest& m, const Sender& s, TimePoint now,
                     Outbox& out);
    void on_introduce(const netcore::protocol::IntroduceRequest& m, const Sender& s, TimePoint now,
                      Outbox& out);
    void on_unregister(const netcore::protocol::Unregister& m, const Sender& s, TimePoint now,
                       Outbox& out);
    void on_party_join(const netcore::protocol::PartyJoin& m, const Sender& s, TimePoint now,
                       Outbox& out);
    void on_party_leave(const netcore::protocol::PartyLeave& m, const Sender& s, TimePoint now,
                        Outbox& out);
    void on_party_admit(const netcore::protocol::PartyAdmit& m, const Sender& s, TimePoint now,
                        Outbox& out);
    /// Appends `self` to `p`, introduces it to every member and tells every member the new list.
    void join_party(Party& p, const Entry& self, TimePoint now, Outbox& out);
    /// Tells every member of `p` (or `only` that one) its member list (PartyMembers).
    void push_members(const Party& p, TimePoint now, Outbox& out, const Entry* only = nullptr);
    /// Logs a member's departure ("<player> <verb> party <party><why> (N members)") and, when
    /// `push`, tells the rest.
    void departed(const Departure& d, std::string_view verb, std::string_view why, TimePoint now,
                  Outbox& out, bool push = true);
    /// Answers `to` (under `key`) that its PartyJoin for `party` was not taken, and counts it.
    void refuse(Outbox& out, netcore::Address to, const std::array<std::uint8_t, 32>& key,
                std::string_view party, netcore::protocol::PartyRefusedCode code);
    /// The introduction of `a` and `b` when both are members of one party: its token, and the
    /// later joiner as initiator.
    std::optional<Pending> party_pair(std::string_view a, std::string_view b, TimePoint now);
    void on_relay_offer(const netcore::protocol::RelayOffer& m, const Sender& s, TimePoint now,
                        Outbox& out);
    /// The binding that holds `name` now: unexpired, or kept by its owner being online.
    const Binding* binding(std::string_view name, TimePoint now, std::int64_t unix_now) const;
    void tick_owners(TimePoint now);
    /// A request `self` -> `peer` without `peer`'s consent: stored (caps allowing) and told to
    /// `peer`; `self` gets exactly what an unknown name gets.
    void wait_for_consent(const Entry& self, const Entry& peer, TimePoint now, Outbox& out);
    /// Forgets the introductions and requests of a name that left or changed hands, and takes it
    /// out of its party (the others are told in `out`).
    void forget(std::string_view name, TimePoint now, Outbox& out);
    /// Forgets only the introductions and requests (a name that moved keeps its party).
    void forget_pairs(std::string_view name);
    void on_relay_renew(const netcore::protocol::RelayRenew& m, const Sender& s, TimePoint now,
                        Outbox& out);
    /// Token 0 (PROTOCOL.md §4.11, standing relays): a grant scoped to `self`'s registration,
    /// and the offer of the allocation made under it. `self` holds the name at the sender.
    void on_standing_renew(const netcore::protocol::RelayRenew& m, const Entry& self,
                           const Sender& s, TimePoint now, Outbox& out);
    void on_standing_offer(const netcore::protocol::RelayOffer& m, const Entry& self);
    /// The standing relay `e` offered, while the credential it was made under is valid.
    [[nodiscard]] const StandingRelay* standing_offer(const Entry& e) const;
    /// The relay grant of its introduction, `grant`, with `credential`.
    void fill(netcore::protocol::RelayGrant& grant, const TurnCredential& credential) const;
    /// Who pays for the relay grants of a new introduction (relay_grants.hpp's buckets).
    enum class Charge : std::uint8_t {
        each_side,  ///< each side one grant, from its own IP's and name's buckets
        paid,       ///< a party join paid once for all its pairs: both sides granted
        refused,    ///< a party join whose joiner's buckets were empty: no grant
    };
    void send_introduction(const Pending& p, const Entry& a, const Entry& b, Outbox& out,
                           std::uint8_t flags = 0, Charge charge = Charge::each_side);
    /// The grants of introduction `p` (made now, or the stored ones when it is re-sent); a side
    /// refused by a limit gets expiry 0.
    const GrantRecord* grant(const Pending& p, const Entry& a, const Entry& b, TimePoint now,
                             Charge charge);
    /// One side's credential for its pair, expiring at `expires` (unix seconds).
    [[nodiscard]] TurnCredential credential(std::string_view name, const GrantRecord& r,
                                            std::int64_t expires) const;
    void limit_answers(std::size_t request_size, std::size_t first, netcore::Address from,
                       TimePoint now, Outbox& out);
    /// Seals `m` under `key` (the recipient's signal key) and queues it for `to`.
    void reply(Outbox& out, netcore::Address to, const std::array<std::uint8_t, 32>& key,
               const netcore::protocol::Message& m);
    void send_outbox();
    std::uint64_t fresh_token();

    Config config_;
    Log log_;
    Registry registry_;
    Introductions introductions_;
    Owners owners_;
    std::string names_error_;  // Config::names_file did not load: never written
    TimePoint next_owner_sweep_{};
    TimePoint next_names_save_{};
    Requests requests_;
    Parties parties_;
    // An IntroductionAsked for the asked side, queued after the asker's answers are capped
    // (limit_answers): it is not an answer to the asker, and must not change what the asker
    // gets (PeerUnknown, exactly as for an unknown name).
    struct Notice {
        netcore::Address to;
        std::array<std::uint8_t, 32> key{};
        std::string asker;
    };
    std::optional<Notice> notice_;
    Cookies cookies_;
    RateLimiter limiter_;
    netcore::SecretKey secret_key_{};
    netcore::PublicKey public_key_{};
    netcore::protocol::Salt salt_{};  // this run's: part of every signal key (§11.2)
    std::uint64_t sealed_ = 0;        // the last counter sealed under any signal key: this run's
                                      // keys are its own (the salt), so one counter serves all
    std::optional<TurnCredentials> turn_;  // when TurnConfig::servers is not empty
    RelayGrants relay_grants_;
    bool proven_ = false;  // the datagram being handled carried a valid cookie
    TimePoint now_{};      // when the datagram being handled arrived (for send_introduction)
    Counters counters_;
    TimePoint next_sweep_{};
    std::random_device random_;

    UdpSocket socket_;
    std::vector<UdpSocket::Received> received_;
    Outbox outbox_;
};

}  // namespace rendezvous
