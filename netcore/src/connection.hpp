// One connection to one peer (docs/NAT.md, docs/PATHS.md, PROTOCOL.md §6, §8): its sealed link,
// its punch, and its way from punching to connected — which acknowledged path it takes first
// (whichever answers first: lan, direct or the relay), the move to a direct path found later,
// the ENet handshake's deadline and pacing, and the goodbye. Once connected it keeps the path:
// a path that goes silent is replaced by the first that answers a round of probes, the relay
// is probed on standby so it is known to work, and an address the peer's authenticated traffic
// comes from is validated by a probe and followed (the peer's NAT rebound). A state machine
// driven by time: probes go to a RawOutbox, what happened to the session's event queue, and
// what ENet must do is asked for (take_enet_connect()) rather than done, so it runs without a
// socket.
#pragma once

#include <enet/enet.h>

#include <optional>
#include <string>

#include "crypto.hpp"
#include "datagram_path.hpp"
#include "event_queue.hpp"
#include "netcore/protocol.hpp"
#include "netcore/session.hpp"
#include "outbox.hpp"
#include "puncher.hpp"
#include "relay.hpp"
#include "rendezvous_client.hpp"

namespace netcore::detail {

/// ENet disconnect data that marks a goodbye from netcore, so a timeout (data 0) can be told
/// from a peer that left on purpose: ENet 1.3.17 reports both as ENET_EVENT_TYPE_DISCONNECT.
inline constexpr enet_uint32 kGoodbye = 0x4E434259;  // "NCBY"

/// The 32 bits of the token that ride in ENet's connect data, so the responder accepts an ENet
/// connection only from whoever was introduced to it.
[[nodiscard]] inline enet_uint32 connect_data(std::uint64_t token) {
    return static_cast<enet_uint32>(token);
}

class Connection final : public Outbox, public RelayFramer {
  public:
    /// `relay`: the player's one allocation (shared by every connection); `out`: the socket;
    /// `events`: where the connection's events go (they carry its id and the peer's name).
    Connection(const Config& config, PeerId id, Relay& relay, RawOutbox& out, EventQueue& events)
        : config_(config), id_(id), relay_(relay), out_(out), events_(events) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Starts punching for `intro` (received by `me`, named `my_name`). `asked`: we asked for
    /// this peer. `relay_only_intro`: everything goes through our own allocation (§4.14).
    /// `unauthenticated`: the datagram path's count so far (to tell an impostor at the punch
    /// timeout). False when the peer's key is unusable (an error event says so).
    bool begin(const crypto::KeyPair& me, std::string_view my_name,
               const protocol::Introduction& intro, const crypto::SymmetricKey* identity,
               bool asked, std::uint32_t unauthenticated, TimePoint now);

    // ---- what comes in ----------------------------------------------------------------
    /// A probe or acknowledgement that opened under this connection's keys. False when it is
    /// not for us (another token, or an acknowledgement while not punching): count it dropped.
    bool on_probe(const protocol::Message& message, Address from, TimePoint now);
    /// The peer's relay (PeerRelay for our token), or its new relayed address when its
    /// allocation was made anew mid-session. Returns the IP our allocation must permit, or 0
    /// when it is a repeat.
    std::uint32_t on_peer_relay(const protocol::PeerRelay& relay);
    /// The relay path moved (the peer's relayed address changed, or, relay-only, our allocation
    /// went to another TURN server): when ENet's peer is at `from`, the relay is the path in
    /// use, and the peer follows it to where the relay path is now.
    void relay_moved(Address from);
    /// The server sent our introduction again (the requester reminded it).
    void reintroduced() { puncher_.reintroduced(); }
    /// An ENet peer connected. `data`: its connect data. True when it is ours (the initiator's
    /// own peer, or the introduced peer's incoming connection); false: refuse it.
    bool on_enet_connect(ENetPeer* peer, enet_uint32 data, TimePoint now);
    /// Our ENet peer disconnected, with `data` (kGoodbye: the peer left on purpose).
    void on_enet_disconnect(enet_uint32 data);
    /// Our ENet peer delivered a packet.
    void on_enet_receive(const ENetPacket& packet, std::uint8_t channel);
    /// An authenticated datagram of the peer (a probe, an acknowledgement or ENet data that
    /// opened under our keys) came from `from` (the peer's side: its relayed address when it
    /// came through our relay). Keeps the path in use alive. `validate` (ENet data, whose replay
    /// window lets each datagram through once): from an address we do not send to, it starts
    /// validating that address (docs/PATHS.md); a path moves only after a probe to it is
    /// acknowledged, never on a datagram alone.
    void heard_from(Address from, TimePoint now, bool validate = true);

    // ---- time -------------------------------------------------------------------------
    /// Probes when due, and the connection's deadlines. `unauthenticated`: the datagram
    /// path's count now.
    void update(TimePoint now, std::uint32_t unauthenticated);
    /// The initiator's ENet connect, once a path is chosen: the address ENet should connect to.
    /// The session calls attach() with the peer ENet made, or enet_refused().
    std::optional<Address> take_enet_connect();
    void attach(ENetPeer* peer);
    /// An ENet datagram of the peer opened under our keys and came from `from`: while our
    /// CONNECT is unanswered, the handshake follows the path the peer answered on (its
    /// VERIFY_CONNECT may come on any of the candidates the probes carried the CONNECT to).
    void handshake_heard(Address from);
    /// ENet sends (or re-sends) our CONNECT before the peer's nonce is known, so it cannot go
    /// as PeerData: it goes as a probe carrying it, to where ENet sends, sealed into `out`.
    /// Returns the size, or 0 (nothing goes out).
    std::size_t connect_probe(std::span<std::uint8_t> out);
    /// Responder: a CONNECT riding a probe may be handed to ENet (we have no connection yet).
    [[nodiscard]] bool takes_connect() const;
    /// The half-open ENet peer of a CONNECT that gave way (Session: take_connect) was reset.
    void handshake_released() { seeded_ = nullptr; }
    void enet_refused();
    /// Seeds ENet's view of the round trip and keeps the handshake's re-sends paced: the
    /// responder's peer is found among `host`'s peers right after the initiator's CONNECT.
    void pace_handshake(ENetHost* host);
    /// An Introduction can be lost on the way to either side: the side that asked reminds the
    /// server until it hears the peer. wants_reminder(): it would now; last_reminder(): when it
    /// last did (the session reminds for the connection that waited longest: the rendezvous
    /// client takes one request every Config::request_retry).
    [[nodiscard]] bool wants_reminder() const {
        return state_ == State::punching && asked_ && !puncher_.heard_from_peer();
    }
    [[nodiscard]] TimePoint last_reminder() const { return last_reminder_; }
    void remind(RendezvousClient& rendezvous, TimePoint now, RawOutbox& out);
    /// Offers our relay to the peer (through the rendezvous) until the peer is heard through it:
    /// while setting up, and again when a relayed connection's allocation was made anew.
    void offer_relay(RendezvousClient& rendezvous, TimePoint now, RawOutbox& out);

    // ---- the game's calls ---------------------------------------------------------------
    /// Leaves gracefully after the queued data (connected only); false when not connected.
    bool goodbye();
    /// While leaving: paces the goodbye's re-sends and ends it at its bound (connection.cpp:
    /// kGoodbyeDrain, kGoodbyeBound), with a disconnected event (error none) if the peer never
    /// acknowledged.
    void linger(TimePoint now);
    /// Ends it now (cancelled, or the session failed): no event.
    void cancel() { finish(); }

    // ---- the session's questions --------------------------------------------------------
    [[nodiscard]] PeerId id() const { return id_; }
    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] Path path() const { return path_; }
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] Address peer_address() const { return peer_address_; }
    [[nodiscard]] std::uint64_t token() const { return puncher_.token(); }
    [[nodiscard]] ENetPeer* enet_peer() const { return peer_; }
    [[nodiscard]] bool leaving() const { return leaving_; }
    /// Introduced as a member of our party (IntroductionFlags::party).
    [[nodiscard]] bool party_member() const { return party_member_; }
    [[nodiscard]] bool setting_up() const {
        return state_ == State::punching || state_ == State::connecting;
    }
    /// Ended (failed, disconnected or cancelled): the session cleans up and forgets it.
    [[nodiscard]] bool ended() const { return state_ == State::closed; }
    /// True while the connection needs our relay: setting up, or connected (in use, or on
    /// standby for when the path in use breaks: docs/PATHS.md).
    [[nodiscard]] bool needs_relay(TimePoint now) const;
    /// True while the connection may allocate again (setting up, or connected: the relay is in
    /// use or on standby): renew the credentials.
    [[nodiscard]] bool renews_relay() const { return setting_up() || state_ == State::connected; }
    /// The relay moved out: forget what came through it (the connection keeps its path).
    void relay_stopped();

    /// Whether `from` carries this peer's traffic: one of its candidates (relay only: its relay).
    [[nodiscard]] bool is_peer_address(Address a) const {
        return puncher_.knows(a) && link_.admits(a);
    }
    /// The peer's relayed address, from its PeerRelay.
    [[nodiscard]] const std::optional<Address>& peer_relayed() const { return peer_relayed_; }
    /// The peer reaches us through our own allocation, and we answer it that way (a reflexive
    /// relay, docs/RELAY.md "Standing relays"): where our TURN server sees the peer.
    [[nodiscard]] const std::optional<Address>& relay_reflexive() const { return reflexive_; }
    /// A datagram came through our allocation from `seen` while we know no relay of the peer:
    /// the peer had ours with its introduction (a standing relay). True when this connection
    /// would answer it that way: our relay is a standing one, we are setting up, not relay-only
    /// by introduction, and `seen` is at the peer's public IP. Only once one of its probes
    /// opened (adopt_relay) is it taken.
    [[nodiscard]] bool may_adopt_relay(Address seen) const;
    /// A probe that came through our allocation from `seen` opened: our answers go back through
    /// our allocation to `seen`, a relay path known by our TURN server's address (returned).
    Address adopt_relay(Address seen);
    /// Where a datagram that came through our allocation comes from, to the rest of the
    /// connection: the peer's relay, or our TURN server while we answer through it.
    [[nodiscard]] Address relay_arrival() const;
    /// Responder: ENet took the peer's CONNECT from `enet_side`, where it sends VERIFY_CONNECT
    /// before we know its peer (frame() must know whether that goes through our allocation).
    void handshake_from(Address enet_side) { handshake_from_ = enet_side; }
    /// The IP our allocation sees the peer's datagrams come from (0 before its PeerRelay).
    [[nodiscard]] std::uint32_t relay_source_ip() const { return relay_source_ip_; }
    /// The peer's public IP, from the introduction (0 for a relay-only one).
    [[nodiscard]] std::uint32_t peer_public_ip() const { return peer_public_ip_; }
    /// A datagram came from the peer through our relay.
    void heard_via_relay() { heard_via_relay_ = true; }
    /// Relay-only: ENet knows the peer by our TURN server's address (its datagrams go there,
    /// framed); everywhere else the peer is its relayed address. These translate.
    [[nodiscard]] Address enet_address_of(Address peer_side) const;
    [[nodiscard]] Address peer_side_of(Address enet_side) const;
    /// The source ENet should see for a datagram from `from` (DatagramPath let it through).
    /// `authenticated`: it opened under this connection's keys (always, unless ENet is
    /// plaintext): whatever address the peer sends from, ENet knows it by one.
    [[nodiscard]] Address enet_source(Address from, bool authenticated = true) const;

    [[nodiscard]] PeerLink& link() { return link_; }
    [[nodiscard]] const PeerLink& link() const { return link_; }
    [[nodiscard]] const Puncher& puncher() const { return puncher_; }
    [[nodiscard]] Duration punch_elapsed(TimePoint now) const;
    [[nodiscard]] PeerInfo info(TimePoint now) const;

    // ---- Outbox: the puncher's probes, sealed for the peer --------------------------------
    void send(Address to, const protocol::Message& message) override;
    // ---- RelayFramer: what goes to the peer through our own allocation ----------------------
    std::size_t frame(std::span<const std::uint8_t> sealed, std::span<std::uint8_t> out) override;

  private:
    void on_path_open(const Puncher::Candidate& open, TimePoint now);
    void on_connected_path_open(const Puncher::Candidate& open, TimePoint now);
    void start_connecting(Address through, TimePoint now);
    void move_to(const Puncher::Candidate& to, TimePoint now);
    void keep_path(TimePoint now);
    void become_connected(TimePoint now);
    void emit_path(EventType type);
    void emit_error(Error error, std::string detail);
    void emit_disconnected(Error error, std::string detail);           ///< the connection ended
    void emit_ended(EventType type, Error error, std::string detail);  // either of the two
    [[nodiscard]] bool through_relay() const {
        return through_relay_ && relay_.started() && peer_relayed_;
    }
    [[nodiscard]] TimePoint relay_clock() const {
        return first_heard_.value_or(puncher_.started());
    }
    [[nodiscard]] enet_uint32 handshake_rtt() const;
    /// Our ENet peer, or, responding, the one ENet made for the peer's CONNECT (null: none yet).
    [[nodiscard]] ENetPeer* handshake_peer() const { return peer_ != nullptr ? peer_ : seeded_; }
    [[nodiscard]] bool carries_connect(Address to) const;
    void finish();

    const Config& config_;
    PeerId id_;
    Relay& relay_;
    RawOutbox& out_;
    EventQueue& events_;

    // Holds the keys and seals what ENet sends the peer (the session's sealer finds it).
    PeerLink link_;
    Puncher puncher_;
    State state_ = State::punching;
    std::string name_;
    bool asked_ = false;         // we asked for the peer
    bool party_member_ = false;  // introduced as a member of our party
    TimePoint last_reminder_{};  // when we last reminded the server of the peer
    std::uint32_t unauthenticated_at_intro_ = 0;
    Duration punch_elapsed_{0};  // until connected

    ENetPeer* peer_ = nullptr;  // connecting (initiator) or connected
    Address peer_address_;
    Path path_ = Path::none;
    TimePoint connect_deadline_{};
    std::optional<Address> pending_connect_;  // decided while receiving, done after
    // The initiator connects ENet on the introduction, and its CONNECT rides every probe
    // (PROTOCOL.md §6 step 4): the handshake takes one round trip, not two. Not relay-only
    // (nothing may go to the peer's own addresses) nor plaintext ENet (nothing to seal it).
    bool early_connect_ = false;
    TimePoint now_{};       // of the last update or datagram: Connection::send has no clock
    bool leaving_ = false;  // goodbye() called, waiting for ENet
    std::optional<TimePoint> goodbye_at_;  // when the goodbye's clock started (linger())
    ENetPeer* seeded_ = nullptr;           // the responder's handshake peer, RTT seeded
    Address connect_via_;                  // the path the handshake goes over

    // The relay, as this connection uses it.
    std::optional<Address> peer_relayed_;  // from PeerRelay: where the peer's relay is
    bool heard_via_relay_ = false;         // the peer reached us through our relay
    // The peer sent to our (standing) relay before we knew its own: we answer through our
    // allocation, framed for where our TURN server sees the peer (reflexive_); the path is
    // known by our TURN server's address (reflexive_via_), like a relay-only introduction's.
    std::optional<Address> reflexive_;
    Address reflexive_via_;
    Address handshake_from_;  // where ENet took the peer's CONNECT from (handshake_from())
    std::uint32_t peer_public_ip_ = 0;   // from the introduction: whom a reflexive relay may be
    std::uint32_t relay_source_ip_ = 0;  // where the peer's relayed datagrams come from
    // A relay-only introduction (one side hides its addresses, PROTOCOL.md §4.14): everything
    // for the peer goes through our own allocation, to the peer's relayed address, and ENet
    // knows the peer by our TURN server's address (where its datagrams go, framed).
    bool through_relay_ = false;
    TimePoint next_offer_{};
    std::uint32_t offered_allocation_ = 0;  // the Relay::allocation() offered
    std::optional<Address> relay_through_;  // a relay that got through, held for relay_delay
    // When the peer was first heard (a probe or acknowledgement opened): relay_delay counts from
    // here, not from our own start. A peer whose Introduction was lost starts a second late (the
    // requester's reminder); measured from our start, its relay would then race a direct path
    // that had no time yet, and win under loss (the NAT lab's loss soak saw 2 in 100).
    std::optional<TimePoint> first_heard_;
    std::optional<Address> upgrade_;  // a direct path that opened while connecting

    // Keeping the path once connected (docs/PATHS.md).
    TimePoint last_heard_{};  // the last authenticated datagram from the path in use
    bool suspect_ = false;    // the path in use was silent for path_silence: probing all
    Duration suspect_interval_{0};
    TimePoint next_suspect_round_{};
    TimePoint next_standby_{};  // the next probe of the relay while on another path
    // An address the peer's authenticated traffic came from that we do not send to: probed,
    // and moved to when it answers (at once if it was new to us: the peer's NAT rebound; a
    // known path only when the one in use has been silent for half of path_silence).
    std::optional<Address> validating_;
    bool validating_new_ = false;
    TimePoint validating_since_{};
    std::uint32_t validate_probes_ = 0;
    TimePoint next_validate_{};
    std::uint32_t path_changes_ = 0;
};

}  // namespace netcore::detail
