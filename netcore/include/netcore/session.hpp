// netcore — the session facade a game embeds.
//
// One Session is one node: one UDP socket (owned by ENet), one name at the rendezvous, one ENet
// host, and up to Config::max_peers connections: the peer asked for with connect(), or every
// other member of a party joined with join_party(). Each connection has its own punch, path
// (lan, direct or relay), keys, state and figures; events name it by its PeerId and the peer's
// name. The host drives it, ENet-style: call update(now) once a frame, then poll(event) until it
// returns false. No threads are started; no call blocks, except resolve_address() which a host
// calls before it starts.
//
// Time: every call takes `now` (a steady clock; tests step it). ENet keeps a clock of its own
// (enet_time_get(), real milliseconds) for its retransmissions, pings and Config::peer_timeout:
// those follow real time whatever `now` says.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netcore/address.hpp"
#include "netcore/keys.hpp"
#include "netcore/ticket.hpp"

namespace netcore {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

/// One connection to one peer, for the life of the session: an id is never reused. 0 is none.
using PeerId = std::uint32_t;
inline constexpr PeerId kNoPeer = 0;

/// Why something failed. Carried by Event::error with a human sentence in Event::detail.
enum class Error : std::uint8_t {
    none = 0,
    invalid_argument,  ///< a bad argument: a server address, our own name as the peer
    socket_error,      ///< the UDP socket could not be opened or bound
    /// no RegisterAck within Config::register_timeout, or nothing listens on the server's port
    server_unreachable,
    name_taken,         ///< another live client holds our name
    name_invalid,       ///< not a valid name (name_problem() says why), or the server refused it
    server_full,        ///< the server's name table is full
    peer_not_online,    ///< the peer did not come online within the wait given to connect()
    punch_failed,       ///< no probe got through within Config::punch_timeout
    connect_failed,     ///< a probe got through but ENet did not connect
    peer_disconnected,  ///< the peer closed the connection
    peer_timed_out,     ///< nothing heard from the peer for Config::peer_timeout
    version_mismatch,   ///< the rendezvous speaks another wire version: upgrade needed
    server_unauthenticated,  ///< the rendezvous did not prove the pinned Config::server_key
    peer_unauthenticated,    ///< the peer did not prove Config::peer_identity (or lacks ours)
    name_owned,              ///< the name is bound to another owner key (Config::name_key)
    party_full,              ///< the party has its most members (16, or the server's cap)
    party_refused,           ///< the server took no party: its cap, or we are in another one
    /// the call does not fit the session's state: start() twice, connect() while another one
    /// asks or to a peer we have a connection to, anything after close()
    invalid_state,
};
[[nodiscard]] const char* to_string(Error e);

/// Where the session is, or one connection (PeerInfo::state: waiting to connected, or closed when
/// it ended). Terminal states: failed (registration failed) and closed.
enum class State : std::uint8_t {
    idle,         ///< constructed, start() not called
    registering,  ///< waiting for RegisterAck
    registered,   ///< holds its name; reachable; no peer
    waiting,      ///< asked for a peer; the peer is not online yet
    punching,     ///< introduced; probing every candidate address
    connecting,   ///< a probe got through; ENet handshake under way
    connected,    ///< ENet connected: send() works
    failed,       ///< registration failed for good (see the error event)
    /// close() was called: goodbyes under way (at most Config::close_linger); keep calling
    /// update() until closed
    closing,
    closed,  ///< closed: nothing more happens
};
[[nodiscard]] const char* to_string(State s);

/// The kind of path the peer session uses, best first.
enum class Path : std::uint8_t {
    none,
    lan,     ///< one of the peer's LAN addresses (same router, no hairpin needed)
    direct,  ///< through the NATs: the peer's public or peer-reflexive address
    relay,   ///< through the TURN relays the rendezvous granted (when no direct path opened)
};
[[nodiscard]] const char* to_string(Path p);

/// An ENet channel, by number. The default Config::channels opens two: reliable (ordered) and
/// unreliable (sequenced: late ones dropped). A game that opens more names them itself, as
/// Channel{2}, Channel{3}, ... (each channel orders only its own messages: a lost reliable
/// message holds back its channel, not the others).
enum class Channel : std::uint8_t { reliable = 0, unreliable = 1 };

/// How a channel delivers its messages (Config::channels).
enum class Delivery : std::uint8_t {
    reliable,     ///< every message, in order: re-sent until acknowledged
    sequenced,    ///< unreliable, in order: one older than the last delivered is dropped
    unsequenced,  ///< unreliable, as it comes: none is dropped for arriving late
};
[[nodiscard]] const char* to_string(Delivery d);

enum class EventType : std::uint8_t {
    registered,        ///< address = our public address as the rendezvous saw it
    waiting_for_peer,  ///< peer = the name asked for; it is not online yet (sent once per connect)
    introduced,        ///< peer, address = peer's public address; punching starts
    connected,         ///< peer, address = the peer's address in use, path
    /// peer, address, path: the connection moved to another path (docs/PATHS.md): a relayed
    /// one to a direct path that opened, a direct one to the relay when its path stopped
    /// answering (and back), or to the peer's new address after its NAT rebound or it changed
    /// networks. The same ENet peer and keys go on: nothing is lost or reordered.
    path_changed,
    received,      ///< channel, data
    disconnected,  ///< error = peer_disconnected, peer_timed_out, or none after disconnect()
    error,         ///< error + detail; see state() for whether the session can go on
    warning,       ///< detail: something the player or developer should know; nothing failed
    /// peer: a player asked to play with us; nothing about us was revealed to it. Call
    /// connect(peer, wait) to accept (Config::consent says when the library answers itself).
    introduction_requested,
    /// We are a member of Session::party() (peer = its host). Connections to the other members
    /// follow, each with its own introduced and connected events.
    party_joined,
    /// peer is in our party: one for each member already in when we join, then one for each
    /// who joins after us (a connection to it follows)
    member_joined,
    member_left,     ///< peer left our party, or the server stopped hearing from it
    host_changed,    ///< peer is our party's host now: every member learns the same host
    join_requested,  ///< peer asks to join the party we host (PartyOptions::admit): admit(peer)
};
[[nodiscard]] const char* to_string(EventType t);

/// A tagged event. Only the fields its type names are set.
struct Event {
    EventType type = EventType::error;
    Error error = Error::none;
    std::string detail;  ///< one human sentence
    /// The connection the event is about (introduced, connected, path_changed, received,
    /// disconnected, and a per-peer error); kNoPeer for the session's own.
    PeerId connection = kNoPeer;
    std::string peer;
    Address address;
    Path path = Path::none;
    Channel channel = Channel::reliable;
    std::vector<std::uint8_t> data;
};

/// The event as one line for a log ("connected to bob at 203.0.113.7:9000 (direct)").
[[nodiscard]] std::string to_string(const Event& e);

/// Who the rendezvous may introduce us to: it reveals our addresses only to them (docs/PRIVACY.md).
enum class Consent : std::uint8_t {
    mutual,  ///< only a player we asked for with connect() (both type each other's names)
    open,    ///< anyone who asks for our name: an open host (`punch` without a peer)
    list,    ///< the players named in Config::accept_from, and anyone we asked for
};
[[nodiscard]] const char* to_string(Consent c);

/// Why `name` cannot be a player's or a party's name, as one sentence ("'bob!' is not a valid
/// name: '!' is not one of A-Z a-z 0-9 _ . -"); empty when it can. Names are 1..32 characters of
/// [A-Za-z0-9_.-], case-sensitive. Check a name as the player types it.
[[nodiscard]] std::string name_problem(std::string_view name);
[[nodiscard]] bool valid_name(std::string_view name);

/// How much a log line matters (Config::log).
enum class LogLevel : std::uint8_t {
    debug,    ///< progress: registered, introduced, paths, each dropped datagram's reason
    info,     ///< connected, path changed, disconnected
    warning,  ///< the warning events
    error,    ///< the error events
};
[[nodiscard]] const char* to_string(LogLevel l);

struct Config {
    Address server;  ///< the rendezvous (see resolve_address())
    /// The rendezvous' public key (`rendezvous --print-public-key`), pinned in the game build.
    /// Without it the key is learned from the first answer (trust on first use: a warning event
    /// says so): that keeps out passive and off-path attackers, not an active man in the middle
    /// at first contact. docs/SECURITY.md.
    std::optional<PublicKey> server_key;
    std::string name;              ///< our name: 1..32 of [A-Za-z0-9_.-] (name_problem())
    std::uint16_t local_port = 0;  ///< 0: any free port
    std::uint32_t local_ip = 0;    ///< host order; 0: all interfaces
    /// LAN candidates we report for peers behind our own router. Empty: netcore finds the
    /// address of the interface that routes to the server (no traffic sent) and uses that.
    std::vector<Address> lan_addresses;
    /// Who may be introduced to us. Someone else who asks gets the answer an unknown name gets,
    /// and we get an introduction_requested event.
    Consent consent = Consent::mutual;
    /// Consent::list: these names are accepted as soon as they ask.
    std::vector<std::string> accept_from;
    /// Keep our addresses from every peer: the rendezvous makes our introductions relay-only
    /// for both sides (each sends through its own TURN allocation), so a peer sees only relay
    /// addresses. Needs a rendezvous that grants TURN relays; costs the relay's extra hop.
    bool hide_address = false;
    /// Owns our name beyond this run (an Ed25519 seed, e.g. from the game's account system):
    /// the rendezvous keeps the name for this key while we are offline, and gives it back at
    /// once when we prove the key again (a crashed game restarts under its name).
    std::optional<SecretKey> name_key;
    /// A previous Session's resume_ticket(), to register without the Challenge round trip: the
    /// sealed Register goes out at start() with the ticket's cookie. Ignored when it is for
    /// another Config::server or another pinned server_key. Useful only from the local port
    /// (and so the public address) the ticket was made at, within 30 s or so of it: otherwise
    /// the server challenges the Register and registration goes on as without a ticket, one
    /// datagram later. Without a pinned key, the ticket's key is taken as a first Challenge's
    /// would be (trust on first use), until a Challenge names another. PROTOCOL.md §6 step 1.
    std::optional<ResumeTicket> resume;
    Duration register_retry{500};     ///< resend Register while unanswered
    Duration register_timeout{5000};  ///< then fail with server_unreachable
    Duration request_retry{1000};     ///< ask again for a peer that is offline
    Duration probe_interval{40};      ///< pace of probes to each candidate
    Duration punch_timeout{10000};    ///< give up punching after this long
    Duration connect_timeout{5000};   ///< ENet handshake after the first acknowledged probe
    /// A connected peer unheard this long (every path tried meanwhile: path_silence) ends in
    /// peer_timed_out: ENet gives up this long after the first datagram it did not get
    /// acknowledged, which is at most one ping (500 ms) after the peer was last heard.
    Duration peer_timeout{10000};
    /// close(): how long goodbyes may take before the session closes regardless (a peer that is
    /// gone never acknowledges one). At most 2 s: a connection's goodbye ends at its bound.
    Duration close_linger{2000};
    /// Allocate a TURN relay, in parallel with punching, when the rendezvous grants one.
    bool use_relay = true;
    /// Hold a TURN relay while registered (a standing relay, docs/RELAY.md): asked for once
    /// registered, allocated before anyone asks for us, and handed by the rendezvous to each
    /// peer it introduces together with the Introduction, so a pair that must relay skips the
    /// allocation and the offer through the rendezvous (issue 15: one round trip to the TURN
    /// server plus one through it). Costs one allocation on the TURN server per registered
    /// player; off by default. Needs use_relay and a rendezvous that grants relays.
    bool standing_relay = false;
    /// The TURN client's first retransmission timeout; it doubles up to 8 times this, for 7
    /// sends, so a TURN server that does not answer is given up 39 times this after the first
    /// (9.75 s by default; docs/TURN.md) and the grant's next server is tried.
    Duration turn_rto{250};
    /// A relay that got through is used only once the peer has been heard this long without a
    /// direct path. 0 (the default): a pair starts on whichever path answers first and moves to
    /// a direct one when it opens (docs/PATHS.md).
    Duration relay_delay{0};
    /// While relayed, probe the lan and direct candidates this often to move to a direct path.
    Duration upgrade_interval{1000};
    /// The path in use is suspected broken after this long without an authenticated datagram
    /// from it (ENet pings every 500 ms when idle): the connection then probes every path it
    /// knows at probe_interval and moves to the first that answers, long before peer_timeout.
    Duration path_silence{1200};
    /// While connected, probe the paths not in use (the relay while direct) this often, so the
    /// one to move to is known to work and its NAT mappings stay open (docs/PATHS.md).
    Duration standby_interval{5000};
    /// TESTING AND POLICY: only the relay: no lan or direct probes, answers or connections, and
    /// no upgrade. The tests and the NAT lab use it to force the relay path; a game sets it only
    /// where policy allows nothing but a relay (to hide addresses, use hide_address instead).
    /// Both sides must set it, or the other side's probes will not be answered.
    bool relay_only = false;
    /// The channels, one Delivery each, numbered from 0: send(Channel{i}, ...) delivers as
    /// channels[i] says, and received events carry the number. 1 to 255. Both players must open
    /// the same channels: a connection has the fewer of the two sides' counts, and a send on a
    /// channel the peer did not open returns false.
    std::vector<Delivery> channels{Delivery::reliable, Delivery::sequenced};
    /// The largest message ENet accepts from the peer, and the most it buffers for us undelivered
    /// (bytes): a peer can make us allocate this much. Game messages are small.
    std::size_t max_packet_size = std::size_t{1} << 20;
    std::size_t max_waiting_data = std::size_t{4} << 20;
    /// Identity beyond the server's word (optional; for games with accounts): this player's
    /// long-term X25519 secret key, and the public key it expects the peer to hold. With both
    /// set, the session's keys also depend on X25519(our identity, the peer's), so a peer — or a
    /// rendezvous sitting in the middle — that does not hold the expected key cannot complete
    /// the handshake: the punch ends in peer_unauthenticated. Both players must set both.
    std::optional<SecretKey> identity_key;
    std::optional<PublicKey> peer_identity;
    /// Connections at once (a party of 16 is 15 peers). ENet allocates a slot for each, and one
    /// more to refuse strangers with.
    std::size_t max_peers = 15;
    /// While in a party, tell the rendezvous we are still in it this often; it drops a member
    /// not heard for 5 refreshes and tells the others (so a host that vanished is replaced).
    Duration party_refresh{1000};
    /// DEBUG ONLY, for benchmarks: ENet's datagrams go unsealed (probes and signals stay
    /// sealed). Both sides must set it. Anyone on the path reads and forges the game's traffic.
    bool insecure_plaintext_enet = false;
    /// netcore's diagnostics, for the game's own log: every event but received, as
    /// to_string(Event) says it, at its level (LogLevel), when it is queued: from update() and
    /// the calls that queue events, never from another thread. Empty: nothing is logged.
    std::function<void(LogLevel level, std::string_view line)> log;
};

/// One connection, as Session::peers() reports it.
struct PeerInfo {
    PeerId id = kNoPeer;
    std::string name;
    State state = State::punching;  ///< punching, connecting, connected
    Path path = Path::none;
    Address address;  ///< the path in use, when connected
    std::uint32_t rtt_ms = 0;
    float packet_loss = 0.0f;  ///< 0..1
    Duration punch_elapsed{0};
    bool party_member = false;       ///< introduced as a member of our party
    std::uint32_t path_changes = 0;  ///< moves to another path since connected (docs/PATHS.md)
    /// Since the last authenticated datagram from the peer (connected). rtt_ms and packet_loss
    /// are ENet's last estimates: a peer unheard for long has gone quiet whatever they say.
    Duration last_heard{0};
    /// What send() queued to this peer that it has not acknowledged yet (reliable) or that is
    /// not sent yet (unreliable), in bytes: a game applies backpressure on it (send less while it
    /// grows, e.g. above a few round trips' worth of its send rate).
    std::size_t queued_bytes = 0;
};

/// The party this session is in (join_party()), as the rendezvous last told it.
struct Party {
    std::string name;                  ///< empty: in no party
    std::vector<std::string> members;  ///< in the order they joined, us included
    std::uint32_t epoch = 0;           ///< grows with every change the server announced
    bool admit = false;                ///< the host admits who joins
    bool joined = false;               ///< the server listed us (false while joining or waiting)
    /// The oldest member still in the party: members[0]. Every member computes the same.
    [[nodiscard]] const std::string& host() const {
        static const std::string none;
        return members.empty() ? none : members.front();
    }
};

/// How join_party() joins.
struct PartyOptions {
    /// Creating the party: its host (the first member) admits each player who asks to join
    /// (join_requested, admit()). Joining a party that exists: ignored.
    bool admit = false;
};

/// Counters for overlays and diagnostics.
struct Stats {
    std::uint32_t registrations_sent = 0;
    /// Challenges taken from the rendezvous (PROTOCOL.md §4.10): 1 for a registration without
    /// a ticket, 0 for one that Config::resume carried through; renew_resume_ticket() adds one.
    std::uint32_t challenges = 0;
    /// Registered on Config::resume's ticket, without a Challenge round trip.
    bool resumed = false;
    std::uint32_t probes_sent = 0;
    std::uint32_t probes_received = 0;
    /// The peer's LAN candidates outside the LAN ranges (netcore::lan_candidate): never probed.
    std::uint32_t lan_candidates_ignored = 0;
    std::uint32_t datagrams_dropped = 0;  ///< malformed, unauthenticated, replayed, or unexpected
    std::uint32_t unauthenticated = 0;    ///< of those: sealed but did not open, or not sealed
    Duration punch_elapsed{0};            ///< since the introduction (or until connected)
    std::uint32_t rtt_ms = 0;             ///< ENet's smoothed round-trip time
    float packet_loss = 0.0f;             ///< ENet's estimate, 0..1
    Duration last_heard{0};               ///< of the oldest connection (PeerInfo::last_heard)
    std::uint64_t bytes_sent = 0;         ///< on the socket, all traffic
    std::uint64_t bytes_received = 0;
    bool relay_allocated = false;  ///< our TURN allocation is up (the peer may relay to us)
    /// Our allocation is a standing relay (Config::standing_relay), held while registered.
    bool relay_standing = false;
    std::uint32_t relay_renewals = 0;  ///< fresh relay credentials received (RelayCredentials)
    /// Allocations made to replace a lost one (the TURN server restarted or stopped answering).
    std::uint32_t relay_reallocations = 0;
};

class Session {
  public:
    explicit Session(Config config);
    ~Session();  ///< close_now(): unregisters and ends every connection at once (no events)
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Every call that returns an Error other than none also queues an error event with it and
    // a sentence that says what was wrong (Event::detail): a game shows or logs that.

    /// Opens the socket and starts registering. Returns name_invalid for a bad Config::name,
    /// invalid_argument for a missing server address, socket_error when the port cannot be
    /// bound (the session is then failed), invalid_state when already started.
    Error start(TimePoint now = Clock::now());

    /// Asks to be introduced to `peer`, asking again while it is offline, for up to `wait`.
    /// May be called while still registering. Returns name_invalid for a bad name,
    /// invalid_argument for our own name, invalid_state for a peer we have a connection to,
    /// while another connect() is still asking, at max_peers, or before start()/after close().
    Error connect(std::string_view peer, Duration wait, TimePoint now = Clock::now());

    /// Joins the party `party` (creating it if nobody is in it): the rendezvous introduces us to
    /// every member and every member to us, and each pair connects as connect() would. Joining
    /// is consent to be introduced to the party's members. party_joined follows (or an error:
    /// party_full, party_refused); member_joined, member_left and host_changed track the party.
    /// May be called while still registering. Returns name_invalid for a bad name,
    /// invalid_state while in a party (leave_party() first) or when not started.
    Error join_party(std::string_view party, PartyOptions options = {},
                     TimePoint now = Clock::now());
    /// Leaves the party: the rendezvous tells the others, and our connections to its members end
    /// gracefully (disconnected events follow).
    void leave_party();
    /// As the host of a party that admits: lets `player` (a join_requested) in. Returns
    /// invalid_state when we host no such party or `player` did not ask.
    Error admit(std::string_view player);
    [[nodiscard]] const Party& party() const;

    /// Does all the work: receives, retries, probes, keeps alive. Call once a frame.
    void update(TimePoint now = Clock::now());

    /// Takes the next event. Returns false when there is none. The event's strings and buffer
    /// are swapped in, and what `event` held is kept for later events: a game that polls into
    /// the same Event every frame receives messages without allocating.
    bool poll(Event& event);

    /// Sends to every connected peer, delivered as Config::channels says for `channel`. Returns
    /// false when none is connected or ENet refuses; a channel beyond Config::channels is
    /// refused with an invalid_argument error event.
    bool send(Channel channel, std::span<const std::uint8_t> data);
    /// Sends to one connected peer. Returns false when it is not connected or ENet refuses.
    bool send_to(PeerId peer, Channel channel, std::span<const std::uint8_t> data);

    /// Ends every connection gracefully (a disconnected event follows for each), cancels a
    /// connect() still asking, and leaves the party; stays registered.
    void disconnect();
    /// Ends one connection gracefully (a disconnected event follows).
    void disconnect(PeerId peer);

    /// Leaves gracefully: ends every connection with a goodbye (its disconnected event follows),
    /// cancels what is setting up, leaves the party and unregisters. state() is closing until
    /// every peer acknowledged its goodbye, or Config::close_linger passed, then closed; keep
    /// calling update() and poll() meanwhile (once a frame, as always). Terminal.
    void close(TimePoint now = Clock::now());
    /// Ends everything now: one unreliable goodbye to each connected peer, no events. Terminal.
    void close_now();

    /// The session's state: its registration's, or, with connections, the most advanced of
    /// theirs (connected when any is).
    [[nodiscard]] State state() const;
    [[nodiscard]] Stats stats() const;             ///< the session's, summed over its connections
    [[nodiscard]] Address public_address() const;  ///< empty until registered
    /// What the next Session from the same local port needs to register without the Challenge
    /// round trip (Config::resume); nothing until registered (after close() too). Its cookie
    /// is the last one the server gave (the Challenge that registered us, or the ticket's), and
    /// the server accepts a cookie for 30 to 60 s after it minted it.
    [[nodiscard]] std::optional<ResumeTicket> resume_ticket() const;
    /// Asks the rendezvous for a fresh cookie for resume_ticket(): one Hello (70 bytes) and its
    /// Challenge (70 bytes), a round trip later. For a session that lives longer than a cookie
    /// (a match): call it when the next Session is near, take the ticket after the next
    /// update()s. Returns invalid_state when not registered.
    Error renew_resume_ticket();
    [[nodiscard]] Address local_address() const;  ///< the bound socket
    /// The UDP socket's descriptor, for a host that sleeps between frames until the network has
    /// something: poll() or select() it for reading, then call update() (punch does). -1 before
    /// start() and once closed. Only to wait on: netcore does every read and write itself.
    [[nodiscard]] int socket_handle() const;
    /// Every connection (ended ones are gone), oldest first.
    [[nodiscard]] std::vector<PeerInfo> peers() const;
    [[nodiscard]] std::optional<PeerInfo> peer(PeerId id) const;
    /// Two-player conveniences: of the oldest connection (none: Path::none, empty).
    [[nodiscard]] Path path() const;
    [[nodiscard]] Address peer_address() const;  ///< the path in use, when connected
    [[nodiscard]] const std::string& peer_name() const;
    [[nodiscard]] const Config& config() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace netcore
