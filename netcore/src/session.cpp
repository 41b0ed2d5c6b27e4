// The session facade: one ENet host, the rendezvous client, the puncher, and the ENet peer,
// driven by update(now) and reported through a queue of events.
#include "netcore/session.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "crypto.hpp"
#include "datagram_path.hpp"
#include "enet_host.hpp"
#include "puncher.hpp"
#include "rendezvous_client.hpp"
#include "turn_client.hpp"

namespace netcore {

namespace {

// ENet disconnect data that marks a goodbye from netcore, so a timeout (data 0) can be told
// from a peer that left on purpose: ENet 1.3.17 reports both as ENET_EVENT_TYPE_DISCONNECT.
constexpr enet_uint32 kGoodbye = 0x4E434259;  // "NCBY"
constexpr std::size_t kChannelCount = 2;      // Channel::reliable, Channel::unreliable
// A stranger may try to connect to our socket; one spare peer slot lets us refuse it
// without blocking the real peer.
constexpr std::size_t kPeerSlots = 2;
// How often a client re-sends its RelayOffer until the peer is heard through the relay.
constexpr Duration kOfferInterval{250};
// How long a session that moved off the relay keeps its allocation: the peer may still send
// through it until its own probes find the direct path (one upgrade round, normally).
constexpr Duration kRelayLinger{5000};
// How long a released allocation's client is kept to re-send its release until the server
// confirms it. A release lost under loss would leave the allocation on the TURN server for its
// whole lifetime, and a later client that the NAT happens to give the same port gets 437.
constexpr Duration kReleaseWait{3000};
// A goodbye (disconnect()) waits for the queued data and the peer's acknowledgement at most
// this long. ENet would wait its whole peer timeout for an acknowledgement that got lost after
// the peer had already gone (it does not answer a DISCONNECT for a peer it has reset).
constexpr enet_uint32 kGoodbyeTimeoutMs = 3000;
// The permissions a relay needs: the peer's public IP and the IP its TURN server saw.
constexpr std::size_t kMaxPermits = 2;
// A player who asked for us is reported once while it keeps asking: the rendezvous re-sends its
// IntroductionAsked every 5 s while the player asks (PROTOCOL.md §4.12), so one not heard of
// for 10 s stopped, and is reported again if it asks again.
constexpr Duration kAskerMemory{10000};
// The most askers remembered at once. A flood of strangers beyond it raises no more events
// (the rendezvous caps requests per IP and per name already); a listed name is still accepted.
constexpr std::size_t kMaxAskers = 64;
// How long an automatic acceptance (Consent::list) asks for the player: the player asks every
// second, so its request is live and the introduction follows at once; this only bounds the
// wait if it stopped meanwhile (then peer_not_online, as for connect()).
constexpr Duration kAcceptWait{10000};

// A renewal of the relay credentials (RelayRenew) that got no answer is sent again this often,
// until the credential expires (the server drops what it refuses, unanswered).
constexpr Duration kRenewRetry{10000};

// The unix expiry of a TURN-REST username "<unix seconds>:<user>" (PROTOCOL.md §4.11), or 0 when
// it does not start with one.
std::int64_t expiry_of(std::string_view username) {
    std::int64_t expiry = 0;
    std::size_t i = 0;
    for (; i < username.size() && i < 18 && username[i] >= '0' && username[i] <= '9'; ++i)
        expiry = expiry * 10 + (username[i] - '0');
    return i > 0 && i < username.size() && username[i] == ':' ? expiry : 0;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The 32 bits of the token that ride in ENet's connect data, so the responder accepts an ENet
// connection only from whoever was introduced to it.
enet_uint32 connect_data(std::uint64_t token) {
    return static_cast<enet_uint32>(token);
}

}  // namespace

using detail::Puncher;
using detail::RendezvousClient;
using SignalKind = RendezvousClient::Signal::Kind;

struct Session::Impl final : detail::HostListener,
                             detail::Outbox,
                             detail::RawOutbox,
                             detail::DatagramPath::Receiver,
                             detail::RelayFramer {
    explicit Impl(Config c)
        : config(std::move(c)), datagrams(config.server, !config.insecure_plaintext_enet) {}

    // ENet's datagrams are sealed unless a benchmark turned that off on both sides.
    [[nodiscard]] bool sealed() const { return !config.insecure_plaintext_enet; }

    Config config;
    // Sorts what reaches the socket (docs/SECURITY.md); the peer's link holds its keys and seals
    // what ENet sends it (the host's send hook). Declared before the host, which uses the link.
    detail::DatagramPath datagrams;
    detail::PeerLink link;
    State state = State::idle;
    detail::EnetHost host;
    std::optional<RendezvousClient> rendezvous;
    Puncher puncher;
    std::deque<Event> events;
    Stats counters;

    ENetPeer* peer = nullptr;  // connecting or connected
    Address peer_address;
    Path path = Path::none;
    std::string peer_name;
    TimePoint connect_deadline{};
    std::optional<Address> pending_connect;  // decided inside intercept, done after service
    bool leaving = false;                    // disconnect() called, waiting for ENet
    bool asked = false;                      // we asked for the peer we are punching to
    ENetPeer* seeded = nullptr;              // the responder's handshake peer, RTT seeded
    Address connect_via;                     // the path the handshake goes over
    TimePoint now{};

    // The relay (docs/NAT.md, "Relay"): our TURN allocation receives what the peer sends to
    // our relayed address; we send to the peer's relayed address. Started with the punch.
    std::optional<detail::TurnClient> turn;
    std::optional<detail::TurnClient> retiring;  // released, re-sending the release
    std::array<Address, protocol::kMaxRelayServers> relay_servers{};  // from the grant, in order
    std::size_t relay_server_count = 0;
    std::size_t relay_server_next = 0;          // the next to try when the current one fails
    detail::TurnCredentials relay_credentials;  // for the next Allocate; renewed (below)
    // Renewal (PROTOCOL.md §4.11): credentials live minutes, so while the session may still
    // allocate or holds an allocation it asks for fresh ones at half their lifetime. A live
    // allocation keeps the username it was made under (TURN wants one username per allocation).
    std::int64_t relay_expiry = 0;  // unix seconds of relay_credentials; 0: none to renew
    std::uint64_t relay_token = 0;  // the introduction's
    TimePoint next_renew{};
    TimePoint retire_until{};
    std::optional<Address> peer_relayed;               // from PeerRelay: where the peer's relay is
    std::array<std::uint32_t, kMaxPermits> permits{};  // peer IPs our relay must let in
    std::size_t permits_wanted = 0;
    std::size_t permits_sent = 0;
    bool heard_via_relay = false;  // the peer reached us through our relay
    // A relay-only introduction (one side hides its addresses, PROTOCOL.md §4.14): everything
    // for the peer goes through our own allocation, to the peer's relayed address, and ENet
    // knows the peer by our TURN server's address (where its datagrams go, framed).
    bool through_relay = false;
    std::uint64_t refused_token = 0;  // a relay-only introduction we could not act on
    TimePoint next_offer{};
    std::optional<Address> relay_through;  // a relay that got through, held for relay_delay
    // When the peer was first heard (a probe or acknowledgement opened): relay_delay counts from
    // here, not from our own start. A peer whose Introduction was lost starts a second late (the
    // requester's reminder); measured from our start, its relay would then race a direct path
    // that had no time yet, and win under loss (the NAT lab's loss soak saw 2 in 100).
    std::optional<TimePoint> first_heard;
    std::optional<Address> upgrade;       // a direct path that opened while connecting
    std::optional<TimePoint> release_at;  // when to give the allocation back

    // ---- events -------------------------------------------------------------------------
    void emit(Event e) { events.push_back(std::move(e)); }
    void emit_error(Error error, std::string detail) {
        Event e;
        e.type = EventType::error;
        e.error = error;
        e.detail = std::move(detail);
        e.peer = peer_name;
        emit(std::move(e));
    }

    // ---- Outbox, RawOutbox -------------------------------------------------------------
    // The puncher's probes and acknowledgements, sealed for the peer.
    void send(Address to, const protocol::Message& message) override {
        std::array<std::uint8_t, protocol::kMaxDatagramSize> buf;
        const std::size_t n = link.channel.seal_probe(message, buf);
        if (n == 0) return;
        if (!through_relay) {
            host.send_raw(to, std::span(buf.data(), n));
            return;
        }
        // Relay-only: only to the peer's relay, and only through ours.
        if (!peer_relayed || to != *peer_relayed) return;
        std::array<std::uint8_t, protocol::kMaxDatagramSize + detail::kRelayFramingRoom> framed;
        const std::size_t m = frame(std::span(buf.data(), n), framed);
        if (m > 0) host.send_raw(turn->server(), std::span(framed.data(), m));
    }

    // ---- RelayFramer: what goes to the peer through our own allocation ----------------
    std::size_t frame(std::span<const std::uint8_t> sealed, std::span<std::uint8_t> out) override {
        if (!through_relay || !turn || !peer_relayed) return 0;
        return turn->wrap(*peer_relayed, sealed, out);
    }

    // Relay-only: ENet knows the peer by our TURN server's address (its datagrams go there,
    // framed); everywhere else the peer is its relayed address. These translate.
    [[nodiscard]] bool enet_via_server() const { return through_relay && turn && peer_relayed; }
    [[nodiscard]] Address enet_address_of(Address peer_side) const {
        return enet_via_server() && peer_side == *peer_relayed ? turn->server() : peer_side;
    }
    [[nodiscard]] Address peer_side_of(Address enet_side) const {
        return enet_via_server() && enet_side == turn->server() ? *peer_relayed : enet_side;
    }
    void send_raw(Address to, std::span<const std::uint8_t> bytes) override {
        host.send_raw(to, bytes);
    }

    // ---- HostListener -------------------------------------------------------------------
    bool on_datagram(detail::Incoming& in) override {
        if (retiring && retiring->is_server(in.from)) {
            using Kind = detail::TurnClient::Received::Kind;
            if (retiring->handle(in.data, now, *this).kind == Kind::consumed) return true;
            if (!turn || !turn->is_server(in.from)) {
                ++counters.datagrams_dropped;  // late relayed data: the session is over
                return true;
            }
        }
        if (turn && turn->is_server(in.from)) {
            const auto r = turn->handle(in.data, now, *this);
            using Kind = detail::TurnClient::Received::Kind;
            if (r.kind == Kind::consumed) return true;
            if (r.kind == Kind::dropped || !peer_relayed) {
                ++counters.datagrams_dropped;
                return true;
            }
            // The peer sent it to our relayed address; to us it comes from the peer's relay,
            // where our answers go (and where ENet knows the peer by, if it connected so).
            heard_via_relay = true;
            in.data = r.payload;
            in.from = *peer_relayed;
        }
        if (datagrams.route(in, link, *this)) return true;
        in.from = enet_source(in.from);
        return false;
    }

    void drop_unauthenticated() {
        ++counters.datagrams_dropped;
        ++counters.unauthenticated;
    }

    // ---- DatagramPath::Receiver ---------------------------------------------------------
    // From the rendezvous' address: what the signal channel opens (or a Challenge).
    void on_server(const protocol::Envelope& envelope, Address /*from*/) override {
        if (!rendezvous) {
            ++counters.datagrams_dropped;
            return;
        }
        const auto signal = rendezvous->handle(envelope, now, *this);
        switch (rendezvous->last_drop()) {
            case RendezvousClient::Drop::none:
                break;
            case RendezvousClient::Drop::unauthenticated:
                drop_unauthenticated();
                break;
            default:
                ++counters.datagrams_dropped;
                break;
        }
        on_signal(signal);
    }

    void on_server_version(std::uint8_t /*version*/) override {
        if (rendezvous) rendezvous->note_version_refused();
    }

    // A probe or its acknowledgement that opened under this introduction's keys.
    void on_probe(const protocol::Message& message, Address from) override {
        if (!first_heard) first_heard = now;
        if (const auto* probe = std::get_if<protocol::Probe>(&message)) {
            if (!puncher.handle_probe(*probe, from, *this)) ++counters.datagrams_dropped;
            return;
        }
        const auto& ack = std::get<protocol::ProbeAck>(message);
        if (!puncher.active() || ack.token != puncher.token()) {
            ++counters.datagrams_dropped;
            return;
        }
        if (const auto open = puncher.handle_ack(ack, from, now)) on_path_open(*open);
    }

    // The address ENet knows the introduced peer by: one of its candidates (relay only: its relay).
    [[nodiscard]] bool is_peer_address(Address a) const {
        return puncher.knows(a) && link.admits(a);
    }

    // ENet drops what does not come from peer->address. While a session moves between the
    // relay and a direct path, the peer sends on both for a moment: any address the peer
    // proved it holds (it sent our token from there) is the peer.
    Address enet_source(Address from) const {
        if (enet_via_server() && from == *peer_relayed) return turn->server();
        if (peer == nullptr || state != State::connected) return from;
        const Address current = detail::from_enet(peer->address);
        if (from != current && puncher.active() && puncher.verified(from)) return current;
        return from;
    }

    void on_enet_event(ENetEvent& event) override {
        switch (event.type) {
            case ENET_EVENT_TYPE_CONNECT:
                on_enet_connect(event);
                break;
            case ENET_EVENT_TYPE_RECEIVE: {
                if (event.peer == peer && state == State::connected) {
                    Event e;
                    e.type = EventType::received;
                    e.peer = peer_name;
                    e.channel = static_cast<Channel>(event.channelID);
                    e.data.assign(event.packet->data,
                                  event.packet->data + event.packet->dataLength);
                    emit(std::move(e));
                }
                enet_packet_destroy(event.packet);
                break;
            }
            case ENET_EVENT_TYPE_DISCONNECT:
                on_enet_disconnect(event);
                break;
            case ENET_EVENT_TYPE_NONE:
                break;
        }
    }

    // ---- the steps ----------------------------------------------------------------------
    void on_signal(RendezvousClient::Signal s) {
        switch (s.kind) {
            case SignalKind::none:
                return;
            case SignalKind::registered: {
                if (state == State::registering) state = State::registered;
                Event e;
                e.type = EventType::registered;
                e.address = rendezvous->public_address();
                emit(std::move(e));
                return;
            }
            case SignalKind::peer_offline: {
                if (state == State::registered) state = State::waiting;
                Event e;
                e.type = EventType::waiting_for_peer;
                e.peer = rendezvous->wanted();
                emit(std::move(e));
                return;
            }
            case SignalKind::introduced:
                on_introduction(rendezvous->introduction());
                return;
            case SignalKind::asked:
                on_introduction_asked(rendezvous->asker());
                return;
            case SignalKind::relay_credentials:
                on_relay_credentials(rendezvous->relay_credentials());
                return;
            case SignalKind::peer_relay: {
                const auto& relay = rendezvous->peer_relay();
                if (!turn || !puncher.active() || relay.token != puncher.token()) {
                    ++counters.datagrams_dropped;
                    return;
                }
                on_peer_relay(relay);
                return;
            }
            case SignalKind::failed:
                end_peer_session();
                state = State::failed;
                emit_error(s.error, failure_sentence(s.error));
                return;
            case SignalKind::request_failed:
                if (state == State::waiting) state = State::registered;
                emit_error(Error::peer_not_online,
                           "nobody named '" + std::string(pending_peer) + "' came online in time");
                return;
        }
    }

    std::string pending_peer;                 // the name given to connect(), for messages
    std::map<std::string, TimePoint> askers;  // who asked for us, and when last

    // Someone asked for us and the rendezvous told it nothing (PROTOCOL.md §4.12): tell the host
    // once while it keeps asking, and with Consent::list accept a listed name by asking for it.
    void on_introduction_asked(const std::string& asker) {
        std::erase_if(askers, [&](const auto& a) { return now - a.second >= kAskerMemory; });
        const auto known = askers.find(asker);
        if (known != askers.end()) {
            known->second = now;
        } else if (askers.size() < kMaxAskers) {
            askers.emplace(asker, now);
            Event e;
            e.type = EventType::introduction_requested;
            e.peer = asker;
            emit(std::move(e));
        }
        const bool listed = config.consent == Consent::list &&
                            std::find(config.accept_from.begin(), config.accept_from.end(),
                                      asker) != config.accept_from.end();
        // As connect(asker, wait) would, when no peer session is under way.
        if (listed && state == State::registered && rendezvous->wanted().empty()) {
            pending_peer = asker;
            rendezvous->request(asker, kAcceptWait, now);
        }
    }
    std::uint32_t unauthenticated_at_intro = 0;  // the path's count when the punch began

    std::string failure_sentence(Error e) const {
        const std::string at = "the rendezvous at " + config.server.to_string();
        switch (e) {
            case Error::server_unreachable:
                return "no answer from " + at;
            case Error::server_unauthenticated:
                return at +
                       " answered, but not with the pinned server key: wrong key, or "
                       "someone else answers in its name";
            case Error::version_mismatch:
                return "upgrade needed: " + at + " speaks another wire version than this build (" +
                       std::to_string(protocol::kVersion) + ")";
            default:
                return "the rendezvous refused the name '" + config.name + "': " + to_string(e);
        }
    }

    void on_introduction(const protocol::Introduction& intro) {
        if (puncher.active() || peer != nullptr) {
            // A repeat of the introduction we act on is harmless (the requester reminded the
            // server: it allows one more probe while the peer is unheard); another one is
            // refused: one peer at a time.
            if (intro.token != puncher.token())
                ++counters.datagrams_dropped;
            else
                puncher.reintroduced();
            return;
        }
        if (intro.token == refused_token) return;  // a repeat: the error was said once
        const auto& wanted = rendezvous->wanted();
        const bool asked_for = !wanted.empty() && intro.peer == wanted;
        if (!asked_for && config.consent != Consent::open) {
            ++counters.datagrams_dropped;
            return;
        }
        crypto::SymmetricKey identity{};
        const bool with_identity = config.identity_key && config.peer_identity;
        if (with_identity &&
            !crypto::agree(*config.identity_key, *config.peer_identity, identity)) {
            ++counters.datagrams_dropped;
            emit_error(Error::peer_unauthenticated,
                       "Config::peer_identity is not a usable key: no session with " +
                           std::string(intro.peer));
            return;
        }
        const bool relay_only_intro = (intro.flags & protocol::IntroductionFlags::relay_only) != 0;
        if (relay_only_intro && !can_relay_only(intro)) return;
        unauthenticated_at_intro = datagrams.unauthenticated();
        if (!link.begin(rendezvous->channel().key_pair(), config.name, intro,
                        with_identity ? &identity : nullptr)) {
            ++counters.datagrams_dropped;
            emit_error(Error::socket_error, "could not start a sealed session with " +
                                                std::string(intro.peer) + ": its key is unusable");
            return;
        }
        link.relay_only = config.relay_only || relay_only_intro;
        through_relay = relay_only_intro;
        link.framer = relay_only_intro ? this : nullptr;
        rendezvous->cancel_request();
        asked = asked_for;
        puncher.begin(intro, now, asked_for);
        peer_name = puncher.peer();
        state = State::punching;
        if (config.use_relay && intro.relay.count > 0) {
            // In parallel with punching, so a failed punch costs little time.
            relay_server_count = intro.relay.count;
            std::copy_n(intro.relay.servers.begin(), relay_server_count, relay_servers.begin());
            relay_server_next = 0;
            relay_credentials = {std::string(intro.relay.username),
                                 std::string(intro.relay.password)};
            relay_token = intro.token;
            schedule_renewal(expiry_of(intro.relay.username));
            start_turn();
            want_permit(intro.peer_public.ip);
        }
        Event e;
        e.type = EventType::introduced;
        e.peer = peer_name;
        e.address = intro.peer_public;
        emit(std::move(e));
        puncher.update(now, config.probe_interval, *this,  // first probes right away
                       link.relay_only ? Puncher::Targets::relay_only : Puncher::Targets::all);
    }

    // A relay-only introduction needs a relay granted, used, and sealed ENet (the send hook
    // frames ENet's datagrams for our allocation). Without them it cannot connect: say so at
    // once rather than after punch_timeout, and once per introduction.
    bool can_relay_only(const protocol::Introduction& intro) {
        const std::string who =
            config.hide_address ? "this player (Config::hide_address)" : std::string(intro.peer);
        std::string why;
        if (intro.relay.count == 0)
            why = "the rendezvous at " + config.server.to_string() + " grants no relay";
        else if (!config.use_relay)
            why = "Config::use_relay is off";
        else if (!sealed())
            why = "Config::insecure_plaintext_enet cannot send through our own relay";
        if (why.empty()) return true;
        refused_token = intro.token;
        if (!rendezvous->wanted().empty() && intro.peer == rendezvous->wanted())
            rendezvous->cancel_request();
        if (state == State::waiting) state = State::registered;
        ++counters.datagrams_dropped;
        peer_name = intro.peer;  // the error event names it
        emit_error(Error::punch_failed, why + ", and " + who +
                                            " hides its address: a relay-only introduction "
                                            "cannot connect to " +
                                            std::string(intro.peer));
        return false;
    }

    // Since when the relay's delay counts: the peer first heard, else our start.
    [[nodiscard]] TimePoint relay_clock() const { return first_heard.value_or(puncher.started()); }

    // A candidate answered for the first time: a path that works both ways. Order of
    // preference: lan and direct at once; the relay only after relay_delay without them.
    void on_path_open(const Puncher::Candidate& open) {
        const bool relayed = open.kind == Path::relay;
        switch (state) {
            case State::punching:
                if (relayed && !link.relay_only && now - relay_clock() < config.relay_delay) {
                    relay_through = open.address;
                    return;
                }
                start_connecting(open.address);
                return;
            case State::connecting:
                if (!relayed) upgrade = open.address;  // moved to once connected
                return;
            case State::connected:
                if (path == Path::relay && !relayed) move_to(open);
                return;
            default:
                return;
        }
    }

    void start_connecting(Address through) {
        state = State::connecting;
        connect_deadline = now + config.connect_timeout;
        connect_via = through;
        relay_through.reset();
        // One initiator (DESIGN.md decision 2): two simultaneous ENet connects make two peers.
        if (puncher.role() == protocol::Role::initiator) pending_connect = through;
    }

    // A relayed session found a direct path: send there from now on. The peer does the same
    // when its own probes get through; until then what it sends through the relay is still
    // accepted (enet_source).
    void move_to(const Puncher::Candidate& to) {
        peer->address = detail::to_enet(to.address);
        peer_address = to.address;
        path = to.kind;
        release_at = now + kRelayLinger;
        emit_path(EventType::path_changed);
    }

    // connected and path_changed: where the peer is now, and over which kind of path.
    void emit_path(EventType type) {
        Event e;
        e.type = type;
        e.peer = peer_name;
        e.address = peer_address;
        e.path = path;
        emit(std::move(e));
    }

    // ---- the relay ----------------------------------------------------------------------
    // Allocates on the next TURN server of the grant.
    void start_turn() {
        turn.emplace();
        turn->start(relay_servers[relay_server_next++], relay_credentials, now, *this);
        permits_sent = 0;  // a new allocation needs its permissions anew
    }

    void want_permit(std::uint32_t ip) {
        if (ip == 0 || permits_wanted == permits.size()) return;
        for (std::size_t i = 0; i < permits_wanted; ++i)
            if (permits[i] == ip) return;
        permits[permits_wanted++] = ip;
    }

    void on_peer_relay(const protocol::PeerRelay& relay) {
        if (peer_relayed) return;  // the peer re-sends its offer until it hears us
        peer_relayed = relay.relayed;
        link.relayed = relay.relayed;
        puncher.add_relay(relay.relayed);
        // Relay-only, the peer sends from its relay; else from where its TURN server saw it.
        want_permit(through_relay ? relay.relayed.ip : relay.mapped.ip);
    }

    // The next renewal at half the credential's remaining lifetime; none once it is nearly gone.
    void schedule_renewal(std::int64_t expiry) {
        relay_expiry = expiry;
        const std::int64_t left = expiry - unix_now();
        if (left < 2) {
            relay_expiry = 0;
            return;
        }
        next_renew = now + std::chrono::seconds(left / 2);
    }

    void on_relay_credentials(const protocol::RelayCredentials& fresh) {
        if (relay_expiry == 0 || fresh.token != relay_token || fresh.relay.count == 0 ||
            fresh.relay.username.empty()) {
            ++counters.datagrams_dropped;  // no session renewing, or not its pair
            return;
        }
        relay_credentials = {std::string(fresh.relay.username), std::string(fresh.relay.password)};
        ++counters.relay_renewals;
        schedule_renewal(expiry_of(fresh.relay.username));
    }

    // Renews while the session may still allocate (setting up: the grant's next server) or
    // holds an allocation (relayed). A direct session never allocates again: it needs none.
    void update_renewal() {
        if (relay_expiry == 0 || now < next_renew) return;
        const bool wants = state == State::punching || state == State::connecting ||
                           (state == State::connected && path == Path::relay);
        if (!wants || unix_now() >= relay_expiry) {
            relay_expiry = 0;
            return;
        }
        rendezvous->send(protocol::RelayRenew{rendezvous->instance(), relay_token, peer_name},
                         *this);
        next_renew = now + kRenewRetry;
    }

    void update_relay() {
        update_renewal();
        if (retiring) {
            retiring->update(now, *this);
            if (retiring->release_confirmed() || now >= retire_until) retiring.reset();
        }
        if (!turn) return;
        turn->update(now, *this);
        const bool setting_up = state == State::punching || state == State::connecting;
        if (turn->state() == detail::TurnClient::State::failed && setting_up &&
            relay_server_next < relay_server_count)
            start_turn();  // the grant's next server
        if (release_at && now >= *release_at) {
            stop_relay();
            return;
        }
        if (turn->state() != detail::TurnClient::State::allocated) return;
        for (; permits_sent < permits_wanted; ++permits_sent)
            turn->permit(Address{permits[permits_sent], 0}, now, *this);
        // Offer our relay to the peer (through the rendezvous) until the peer is heard
        // through it: then it has the offer.
        if (setting_up && !heard_via_relay && now >= next_offer) {
            // Relay-only, nothing but our relayed address leaves (the server zeroes it too).
            const bool hide = through_relay || config.hide_address;
            rendezvous->send(
                protocol::RelayOffer{rendezvous->instance(), puncher.token(), peer_name,
                                     turn->relayed(), hide ? Address{} : turn->mapped()},
                *this);
            next_offer = now + kOfferInterval;
        }
    }

    void stop_relay() {
        if (turn) {
            turn->release(*this);
            retiring = std::move(turn);
            retire_until = now + kReleaseWait;
        }
        turn.reset();
        peer_relayed.reset();
        permits_wanted = permits_sent = 0;
        heard_via_relay = false;
        next_offer = {};
        relay_through.reset();
        upgrade.reset();
        release_at.reset();
    }

    // What the relay was doing, for the punch_failed message.
    std::string relay_status() const {
        if (!turn) return "";
        switch (turn->state()) {
            case detail::TurnClient::State::failed:
                return "; relay: " + turn->error();
            case detail::TurnClient::State::allocating:
                return "; relay: still allocating";
            case detail::TurnClient::State::allocated:
                return peer_relayed ? "; relay: no answer through the relays"
                                    : "; relay: the peer's relay never arrived";
            default:
                return "";
        }
    }

    void on_enet_connect(ENetEvent& event) {
        if (event.peer == peer && state == State::connecting) {
            become_connected();
            return;
        }
        // An incoming connection: only the introduced peer, from a candidate address, with
        // our token in its connect data.
        const Address from = peer_side_of(detail::from_enet(event.peer->address));
        const bool expected = peer == nullptr && puncher.active() &&
                              puncher.role() == protocol::Role::responder &&
                              event.data == connect_data(puncher.token()) && is_peer_address(from);
        if (!expected) {
            ++counters.datagrams_dropped;
            host.disconnect_now(event.peer, 0);
            return;
        }
        peer = event.peer;
        become_connected();
    }

    void become_connected() {
        peer_address = peer_side_of(detail::from_enet(peer->address));
        path = puncher.path_of(peer_address);
        counters.punch_elapsed = std::chrono::duration_cast<Duration>(now - puncher.started());
        // A relayed session keeps probing for a direct path; any other needs neither.
        if (path != Path::relay) {
            puncher.end();
            stop_relay();
        }
        state = State::connected;
        const auto timeout = static_cast<enet_uint32>(config.peer_timeout.count());
        enet_peer_timeout(peer, 0, timeout / 2, timeout);
        emit_path(EventType::connected);
        if (path == Path::relay && upgrade) {
            const Puncher::Candidate direct{*upgrade, puncher.path_of(*upgrade), true, true, {}};
            upgrade.reset();
            move_to(direct);
        }
    }

    void on_enet_disconnect(ENetEvent& event) {
        if (event.peer != peer) return;  // a refused stranger
        const bool was_connected = state == State::connected;
        const bool we_left = leaving;
        const bool goodbye = event.data == kGoodbye;
        peer = nullptr;
        end_peer_session();
        if (!was_connected) {
            emit_error(Error::connect_failed, "a probe got through to " + peer_name +
                                                  " but the ENet handshake did not complete");
            return;
        }
        Event e;
        e.type = EventType::disconnected;
        e.peer = peer_name;
        e.error = we_left   ? Error::none
                  : goodbye ? Error::peer_disconnected
                            : Error::peer_timed_out;
        e.detail = we_left   ? "disconnected"
                   : goodbye ? peer_name + " left"
                             : "lost the path to " + peer_name;
        emit(std::move(e));
    }

    // Back to "registered" after a peer session ends, whatever the reason.
    void end_peer_session() {
        if (peer != nullptr) {
            enet_peer_reset(peer);
            peer = nullptr;
        }
        puncher.end();
        first_heard.reset();
        relay_expiry = 0;
        // What ENet still owes the peer (the acknowledgement of its goodbye, say) is sealed and
        // sent before the channel's keys go; then no ENet peer is left (a responder's handshake
        // that never completed, say) to send what could no longer be sealed.
        host.flush();
        reset_enet_peers();
        link.end();
        stop_relay();
        through_relay = false;  // after the flush: what ENet still owed went through the relay
        pending_connect.reset();
        leaving = false;
        asked = false;
        seeded = nullptr;
        connect_via = {};
        path = Path::none;
        peer_address = {};
        if (state != State::failed && state != State::closed && state != State::idle)
            state = rendezvous && rendezvous->phase() == RendezvousClient::Phase::registered
                        ? State::registered
                        : State::registering;
    }

    void reset_enet_peers() {
        ENetHost* h = host.get();
        if (h == nullptr) return;
        for (ENetPeer* p = h->peers; p < h->peers + h->peerCount; ++p)
            if (p->state != ENET_PEER_STATE_DISCONNECTED) enet_peer_reset(p);
    }

    void check_timers() {
        if (state == State::punching && relay_through &&
            now - relay_clock() >= config.relay_delay) {
            start_connecting(*relay_through);
            return;
        }
        if (state == State::punching && now - puncher.started() >= config.punch_timeout) {
            // With an identity required, probes that came but never opened mean the other side
            // does not hold the expected identity (or does not require ours).
            const bool impostor = config.identity_key && config.peer_identity &&
                                  puncher.probes_received() == 0 &&
                                  datagrams.unauthenticated() > unauthenticated_at_intro;
            std::string detail =
                impostor
                    ? peer_name +
                          " answered, but could not prove the identity key expected "
                          "of it (Config::peer_identity)"
                    : "no probe got through to " + peer_name + " within " +
                          std::to_string(config.punch_timeout.count()) + " ms" + relay_status();
            end_peer_session();
            emit_error(impostor ? Error::peer_unauthenticated : Error::punch_failed,
                       std::move(detail));
        } else if (state == State::connecting && now >= connect_deadline) {
            end_peer_session();
            emit_error(Error::connect_failed,
                       "a probe got through to " + peer_name + " but ENet did not connect in time");
        }
    }

    void do_pending_connect() {
        if (!pending_connect || state != State::connecting) return;
        const ENetAddress to = detail::to_enet(enet_address_of(*pending_connect));
        pending_connect.reset();
        peer = enet_host_connect(host.get(), &to, kChannelCount, connect_data(puncher.token()));
        if (peer == nullptr) {
            end_peer_session();
            emit_error(Error::connect_failed, "ENet had no free peer to connect with");
            return;
        }
        detail::seed_round_trip(peer, handshake_rtt());
    }

    // The round trip the probes measured, bounded: never below kMinHandshakeRtt (a loopback
    // RTT of 0 ms would make ENet re-send at once) nor above ENet's own 500 ms guess.
    enet_uint32 handshake_rtt() const {
        constexpr Duration kMinHandshakeRtt{30};
        constexpr Duration kMaxHandshakeRtt{500};
        const Duration rtt = std::clamp(puncher.rtt_of(connect_via).value_or(Duration{100}),
                                        kMinHandshakeRtt, kMaxHandshakeRtt);
        return static_cast<enet_uint32>(rtt.count());
    }

    // The responder cannot seed its ENet peer before ENet creates it on the initiator's
    // CONNECT; catch it right after, while its VERIFY_CONNECT is still unacknowledged. Then,
    // on both sides, keep the handshake's re-sends at a steady pace until it completes.
    void pace_handshake() {
        if (!puncher.active()) return;
        if (puncher.role() == protocol::Role::responder && seeded == nullptr && peer == nullptr) {
            ENetHost* h = host.get();
            for (ENetPeer* p = h->peers; p < h->peers + h->peerCount; ++p) {
                if (p->state == ENET_PEER_STATE_ACKNOWLEDGING_CONNECT &&
                    is_peer_address(peer_side_of(detail::from_enet(p->address)))) {
                    detail::seed_round_trip(p, handshake_rtt());
                    seeded = p;
                    break;
                }
            }
        }
        ENetPeer* handshaking = peer != nullptr ? peer : seeded;
        if (handshaking != nullptr && handshaking->state != ENET_PEER_STATE_CONNECTED)
            detail::cap_resend_timeout(handshaking, 3 * handshake_rtt());
    }

    // An Introduction can be lost on the way to either side. The side that asked keeps asking
    // until it hears the peer: the server sends the same introduction to both again.
    void remind_server() {
        if (state == State::punching && asked && !puncher.heard_from_peer())
            rendezvous->remind(peer_name, now, *this);
    }
};

Session::Session(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Session::~Session() {
    close();
}

Error Session::start(TimePoint now) {
    Impl& s = *impl_;
    if (s.state != State::idle) return Error::invalid_argument;
    s.now = now;
    if (!protocol::valid_name(s.config.name) || s.config.server.ip == 0 ||
        s.config.server.port == 0) {
        s.state = State::failed;
        return Error::invalid_argument;
    }
    if (!crypto::init()) {
        s.state = State::failed;
        return Error::socket_error;
    }
    const detail::EnetLimits limits{s.config.max_packet_size, s.config.max_waiting_data};
    if (!s.host.open(Address{s.config.local_ip, s.config.local_port}, kPeerSlots, kChannelCount,
                     limits, s.sealed() ? &s.link : nullptr)) {
        s.state = State::failed;
        return Error::socket_error;
    }
    protocol::AddressList lan;
    if (s.config.lan_addresses.empty()) {
        Address route = detail::local_route_to(s.config.server);
        if (s.config.local_ip != 0) route.ip = s.config.local_ip;
        if (route.ip != 0) lan.push(Address{route.ip, s.host.local_address().port});
    } else {
        for (const auto& a : s.config.lan_addresses) lan.push(a);
    }
    s.rendezvous.emplace(s.config, crypto::random_u64(), lan);
    s.state = State::registering;
    if (!s.config.server_key) {
        Event e;
        e.type = EventType::warning;
        e.detail = "no server key pinned: trusting the key the rendezvous at " +
                   s.config.server.to_string() +
                   " shows first (an attacker who answers first could impersonate it)";
        s.emit(std::move(e));
    }
    s.rendezvous->start(now, s);
    return Error::none;
}

Error Session::connect(std::string_view peer, Duration wait, TimePoint now) {
    Impl& s = *impl_;
    if (!protocol::valid_name(peer) || peer == s.config.name) return Error::invalid_argument;
    if (s.state != State::registering && s.state != State::registered)
        return Error::invalid_argument;
    s.now = now;
    s.pending_peer = peer;
    s.rendezvous->request(peer, wait, now);
    return Error::none;
}

void Session::update(TimePoint now) {
    Impl& s = *impl_;
    if (s.state == State::idle || s.state == State::closed || !s.host.is_open()) return;
    s.now = now;
    s.host.service(s);
    s.do_pending_connect();
    s.pace_handshake();
    s.remind_server();
    if (s.rendezvous) s.on_signal(s.rendezvous->update(now, s));
    s.update_relay();
    using Targets = Puncher::Targets;
    if (s.state == State::punching || s.state == State::connecting)
        s.puncher.update(now, s.config.probe_interval, s,
                         s.link.relay_only ? Targets::relay_only : Targets::all);
    else if (s.state == State::connected && s.path == Path::relay && s.puncher.active() &&
             !s.link.relay_only)
        s.puncher.update(now, s.config.upgrade_interval, s, Targets::no_relay);
    s.check_timers();
    s.host.flush();
}

bool Session::poll(Event& event) {
    if (impl_->events.empty()) return false;
    event = std::move(impl_->events.front());
    impl_->events.pop_front();
    return true;
}

bool Session::send(Channel channel, std::span<const std::uint8_t> data) {
    Impl& s = *impl_;
    if (s.state != State::connected || s.peer == nullptr || s.leaving) return false;
    const enet_uint32 flags = channel == Channel::reliable ? ENET_PACKET_FLAG_RELIABLE : 0;
    ENetPacket* packet = enet_packet_create(data.data(), data.size(), flags);
    if (packet == nullptr) return false;
    if (enet_peer_send(s.peer, static_cast<enet_uint8>(channel), packet) != 0) {
        enet_packet_destroy(packet);
        return false;
    }
    return true;
}

void Session::disconnect() {
    Impl& s = *impl_;
    if (s.state == State::connected && s.peer != nullptr) {
        if (!s.leaving) {
            enet_peer_disconnect_later(s.peer, kGoodbye);  // after queued data
            enet_peer_timeout(s.peer, 0, kGoodbyeTimeoutMs, kGoodbyeTimeoutMs);
        }
        s.leaving = true;
        return;
    }
    const bool had_peer_session = s.state == State::waiting || s.state == State::punching ||
                                  s.state == State::connecting ||
                                  (s.rendezvous && !s.rendezvous->wanted().empty());
    if (!had_peer_session) return;
    if (s.rendezvous) s.rendezvous->cancel_request();
    s.end_peer_session();
    Event e;
    e.type = EventType::disconnected;
    e.peer = s.peer_name.empty() ? s.pending_peer : s.peer_name;
    e.detail = "cancelled";
    s.emit(std::move(e));
}

void Session::close() {
    Impl& s = *impl_;
    if (s.state == State::closed || s.state == State::idle) {
        s.state = State::closed;
        return;
    }
    if (s.peer != nullptr) {
        s.host.disconnect_now(s.peer, kGoodbye);  // one unreliable goodbye, sealed, then reset
        s.peer = nullptr;
    }
    s.stop_relay();
    if (s.rendezvous) s.rendezvous->unregister(s);
    s.host.flush();
    s.state = State::closed;
}

// Not built yet (issue 12): parties and several connections. The two-player path above is
// unchanged; these keep the declared API linkable until the session core lands.
Error Session::join_party(std::string_view /*party*/, PartyOptions /*options*/, TimePoint /*now*/) {
    return Error::invalid_argument;
}
void Session::leave_party() {}
Error Session::admit(std::string_view /*player*/) {
    return Error::invalid_argument;
}
const Party& Session::party() const {
    static const Party none;
    return none;
}
bool Session::send_to(PeerId /*peer*/, Channel channel, std::span<const std::uint8_t> data) {
    return send(channel, data);
}
void Session::disconnect(PeerId /*peer*/) {
    disconnect();
}
std::vector<PeerInfo> Session::peers() const {
    return {};
}
std::optional<PeerInfo> Session::peer(PeerId /*id*/) const {
    return std::nullopt;
}

State Session::state() const {
    return impl_->state;
}
Path Session::path() const {
    return impl_->path;
}
Address Session::public_address() const {
    return impl_->rendezvous ? impl_->rendezvous->public_address() : Address{};
}
Address Session::local_address() const {
    return impl_->host.local_address();
}
Address Session::peer_address() const {
    return impl_->peer_address;
}
const std::string& Session::peer_name() const {
    return impl_->peer_name;
}
const Config& Session::config() const {
    return impl_->config;
}

Stats Session::stats() const {
    const Impl& s = *impl_;
    Stats st = s.counters;
    st.datagrams_dropped += s.datagrams.dropped();
    st.unauthenticated += s.datagrams.unauthenticated();
    if (s.rendezvous) st.registrations_sent = s.rendezvous->registrations_sent();
    st.probes_sent = s.puncher.probes_sent();
    st.probes_received = s.puncher.probes_received();
    st.lan_candidates_ignored = s.puncher.lan_ignored();
    if (s.state == State::punching || s.state == State::connecting)
        st.punch_elapsed = std::chrono::duration_cast<Duration>(s.now - s.puncher.started());
    if (s.peer != nullptr && s.state == State::connected) {
        st.rtt_ms = s.peer->roundTripTime;
        st.packet_loss = static_cast<float>(s.peer->packetLoss) /
                         static_cast<float>(ENET_PEER_PACKET_LOSS_SCALE);
    }
    if (const ENetHost* h = s.host.get()) {
        // ENet counts what its sendmsg sent: sealed, the sealed size.
        st.bytes_sent = h->totalSentData + s.host.raw_bytes_sent();
        st.bytes_received = h->totalReceivedData;
    }
    st.relay_allocated = s.turn && s.turn->state() == detail::TurnClient::State::allocated;
    return st;
}

const char* to_string(Error e) {
    switch (e) {
        case Error::none:
            return "none";
        case Error::invalid_argument:
            return "invalid_argument";
        case Error::socket_error:
            return "socket_error";
        case Error::server_unreachable:
            return "server_unreachable";
        case Error::name_taken:
            return "name_taken";
        case Error::name_invalid:
            return "name_invalid";
        case Error::server_full:
            return "server_full";
        case Error::peer_not_online:
            return "peer_not_online";
        case Error::punch_failed:
            return "punch_failed";
        case Error::connect_failed:
            return "connect_failed";
        case Error::peer_disconnected:
            return "peer_disconnected";
        case Error::peer_timed_out:
            return "peer_timed_out";
        case Error::version_mismatch:
            return "version_mismatch";
        case Error::server_unauthenticated:
            return "server_unauthenticated";
        case Error::peer_unauthenticated:
            return "peer_unauthenticated";
        case Error::name_owned:
            return "name_owned";
        case Error::party_full:
            return "party_full";
        case Error::party_refused:
            return "party_refused";
    }
    return "?";
}

const char* to_string(State s) {
    switch (s) {
        case State::idle:
            return "idle";
        case State::registering:
            return "registering";
        case State::registered:
            return "registered";
        case State::waiting:
            return "waiting";
        case State::punching:
            return "punching";
        case State::connecting:
            return "connecting";
        case State::connected:
            return "connected";
        case State::failed:
            return "failed";
        case State::closed:
            return "closed";
    }
    return "?";
}

const char* to_string(Path p) {
    switch (p) {
        case Path::none:
            return "none";
        case Path::lan:
            return "lan";
        case Path::direct:
            return "direct";
        case Path::relay:
            return "relay";
    }
    return "?";
}

const char* to_string(EventType t) {
    switch (t) {
        case EventType::registered:
            return "registered";
        case EventType::waiting_for_peer:
            return "waiting_for_peer";
        case EventType::introduced:
            return "introduced";
        case EventType::connected:
            return "connected";
        case EventType::path_changed:
            return "path_changed";
        case EventType::received:
            return "received";
        case EventType::disconnected:
            return "disconnected";
        case EventType::error:
            return "error";
        case EventType::warning:
            return "warning";
        case EventType::introduction_requested:
            return "introduction_requested";
        case EventType::party_joined:
            return "party_joined";
        case EventType::member_joined:
            return "member_joined";
        case EventType::member_left:
            return "member_left";
        case EventType::host_changed:
            return "host_changed";
        case EventType::join_requested:
            return "join_requested";
    }
    return "?";
}

const char* to_string(Consent c) {
    switch (c) {
        case Consent::mutual:
            return "mutual";
        case Consent::open:
            return "open";
        case Consent::list:
            return "list";
    }
    return "?";
}

}  // namespace netcore
