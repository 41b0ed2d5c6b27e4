// The session facade: wires the parts of a node together and reports through a queue of events.
// The one ENet host and its socket (enet_host.*), the datagram path that sorts what arrives
// (datagram_path.*), the rendezvous client (rendezvous_client.*), the player's TURN allocation
// (relay.*) and the connections, one per peer (connection.*). It validates the game's calls,
// routes datagrams and ENet events to the connection they belong to, and cleans up after a
// connection that ended.
#include "netcore/session.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include "connection.hpp"
#include "crypto.hpp"
#include "datagram_path.hpp"
#include "enet_host.hpp"
#include "event_queue.hpp"
#include "party.hpp"
#include "relay.hpp"
#include "rendezvous_client.hpp"

namespace netcore {

namespace {

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
// A standing relay (Config::standing_relay): the grant is asked for this many times, this far
// apart, once registered (a rendezvous that grants no relay answers nothing); the standing
// allocation's offer is sent three times that far apart, then every kStandingOfferInterval
// (nothing acknowledges it: the server keeps the last one while we are registered).
constexpr std::uint32_t kStandingAsks = 3;
constexpr Duration kStandingAskInterval{1000};
constexpr Duration kStandingOfferInterval{30000};

// How far a state is along the way to connected: the session reports its most advanced one.
int progress(State s) {
    switch (s) {
        case State::registering:
            return 1;
        case State::registered:
            return 2;
        case State::waiting:
            return 3;
        case State::punching:
            return 4;
        case State::connecting:
            return 5;
        case State::connected:
            return 6;
        default:
            return 0;
    }
}

}  // namespace

using detail::Connection;
using detail::RendezvousClient;
using SignalKind = RendezvousClient::Signal::Kind;

struct Session::Impl final : detail::HostListener,
                             detail::RawOutbox,
                             detail::DatagramPath::Receiver,
                             detail::DatagramPath::Links,
                             detail::SignalSender,
                             detail::EnetSealer {
    explicit Impl(Config c)
        : config(std::move(c)),
          datagrams(config.server, !config.insecure_plaintext_enet),
          relay(detail::TurnTiming::scaled(config.turn_rto)),
          events(config.log),
          party(config.name, config.party_refresh, events) {}

    // ENet's datagrams are sealed unless a benchmark turned that off on both sides.
    [[nodiscard]] bool sealed() const { return !config.insecure_plaintext_enet; }

    Config config;
    // Sorts what reaches the socket (docs/SECURITY.md); each connection's link holds its keys
    // and seals what ENet sends its peer (the host's send hook, through seal_enet below).
    detail::DatagramPath datagrams;
    State state = State::idle;  // the registration's: idle, registering, registered, waiting...
    detail::EnetHost host;
    std::optional<RendezvousClient> rendezvous;
    detail::Relay relay;
    detail::EventQueue events;
    detail::PartyClient party;  // after events, which it reports to
    Stats counters;
    // The connections, oldest first. Ended ones are cleaned up at once (settle()).
    std::vector<std::unique_ptr<Connection>> connections;
    PeerId next_id = 1;
    // What ended connections counted, so that stats() covers the whole session.
    std::uint32_t probes_sent_before = 0;
    std::uint32_t probes_received_before = 0;
    std::uint32_t lan_ignored_before = 0;
    Duration last_punch_elapsed{0};
    TimePoint now{};

    std::string pending_peer;  // the name given to connect(), for messages
    // Party members listed by the server, since when, and whether a connection to them was
    // made during this membership: an Introduction lost on the way to both sides would leave a
    // listed member that neither side reminds the server of (remind_party).
    // A member whose connection ended before it connected (a handshake lost, say) is asked for
    // again too: every pair that can connect should.
    enum class Listed { unintroduced, introduced, connected };
    std::map<std::string, std::pair<TimePoint, Listed>, std::less<>> party_listed;
    std::map<std::string, TimePoint> askers;  // who asked for us, and when last
    std::uint64_t refused_token = 0;          // a relay-only introduction we could not act on

    // ---- events -------------------------------------------------------------------------
    void emit(Event e) { events.push_back(std::move(e)); }
    void emit_error(Error error, std::string detail, std::string peer = {}) {
        Event e;
        e.type = EventType::error;
        e.error = error;
        e.detail = std::move(detail);
        e.peer = std::move(peer);
        emit(std::move(e));
    }
    // A call the game made that cannot go on: the error returned, and its sentence queued.
    Error refuse(Error error, std::string detail, std::string peer = {}) {
        emit_error(error, std::move(detail), std::move(peer));
        return error;
    }
    // How `channel` delivers (Config::channels), or nothing and an error event when the
    // session opened no such channel.
    std::optional<Delivery> delivery(Channel channel, const char* call) {
        const auto i = static_cast<std::size_t>(channel);
        if (i < config.channels.size()) return config.channels[i];
        refuse(Error::invalid_argument, std::string(call) + ": channel " + std::to_string(i) +
                                            " is not open (Config::channels opens " +
                                            std::to_string(config.channels.size()) + ")");
        return std::nullopt;
    }
    // What a call needs: a session started and not closing or closed. The sentence when not.
    [[nodiscard]] std::string not_running(const char* call) const {
        switch (state) {
            case State::idle:
                return std::string(call) + " needs a started session: call start() first";
            case State::failed:
                return std::string(call) + " cannot go on: the session failed to register";
            case State::closing:
            case State::closed:
                return std::string(call) + " after close(): the session is over";
            default:
                return {};
        }
    }

    // close(): the goodbyes under way, and when the session closes regardless.
    std::optional<TimePoint> close_by;
    void finish_close() {
        for (const auto& c : connections)
            if (ENetPeer* p = c->enet_peer())
                host.disconnect_now(p, detail::kGoodbye);  // one unreliable goodbye, sealed
        stop_relay();
        if (rendezvous) rendezvous->unregister(*this);  // once: it sends only while registered
        host.flush();
        connections.clear();
        close_by.reset();
        state = State::closed;
    }

    // ---- the connections ----------------------------------------------------------------
    [[nodiscard]] Connection* current() const {
        return connections.empty() ? nullptr : connections.front().get();
    }
    [[nodiscard]] Connection* by_enet(const ENetPeer* peer) const {
        for (const auto& c : connections)
            if (peer != nullptr && c->enet_peer() == peer) return c.get();
        return nullptr;
    }
    [[nodiscard]] Connection* by_id(PeerId id) const {
        for (const auto& c : connections)
            if (c->id() == id) return c.get();
        return nullptr;
    }
    [[nodiscard]] Connection* by_name(std::string_view name) const {
        for (const auto& c : connections)
            if (c->name() == name) return c.get();
        return nullptr;
    }
    [[nodiscard]] Connection* by_link(const detail::PeerLink& link) const {
        for (const auto& c : connections)
            if (&c->link() == &link) return c.get();
        return nullptr;
    }
    // The connection whose ENet connection has this connectID (§11.4).
    [[nodiscard]] Connection* by_connect_id(enet_uint32 id) const {
        for (const auto& c : connections)
            if (c->link().connect_id == id) return c.get();
        return nullptr;
    }
    // In a party the allocation is kept while we are in it, even when no connection uses it: a
    // member who joins later may need it, and allocating again from the same address soon after
    // a release that the TURN server has not processed yet (lost, under loss) gets 437
    // (allocation mismatch) for the life of the old allocation.
    [[nodiscard]] bool relay_needed() const {
        return party.active() || relay.standing() ||
               std::any_of(connections.begin(), connections.end(),
                           [&](const auto& c) { return c->needs_relay(now); });
    }
    [[nodiscard]] bool any_connection_setting_up() const {
        return std::any_of(connections.begin(), connections.end(),
                           [](const auto& c) { return c->setting_up(); });
    }

    // Cleans up after the connections that ended: what ENet still owes their peers (the
    // acknowledgement of a goodbye, say) is sealed and sent before their keys go; then no ENet
    // peer is left (a responder's handshake that never completed, say) to send what could no
    // longer be sealed.
    void settle() {
        for (std::size_t i = 0; i < connections.size();) {
            Connection& c = *connections[i];
            if (!c.ended()) {
                ++i;
                continue;
            }
            if (connections.size() == 1) {
                relay.stop_renewing();
            } else if (relay.token() == c.token()) {
                // Renew for a connection that still uses the allocation.
                for (const auto& k : connections)
                    if (k.get() != &c && k->renews_relay()) {
                        relay.rescope(k->token(), k->name());
                        break;
                    }
            }
            host.flush();
            reset_enet_peers_of(c);
            drop_permits_of(c);
            c.link().end();
            probes_sent_before += c.puncher().probes_sent();
            probes_received_before += c.puncher().probes_received();
            lan_ignored_before += c.puncher().lan_ignored();
            if (c.punch_elapsed(now) != Duration{0}) last_punch_elapsed = c.punch_elapsed(now);
            connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
            if (!relay_needed()) stop_relay();
            if (state != State::failed && state != State::closed && state != State::idle &&
                state != State::closing)
                state = rendezvous && rendezvous->phase() == RendezvousClient::Phase::registered
                            ? State::registered
                            : State::registering;
        }
    }

    // The ENet peers of a connection that ended (a responder's handshake that never completed,
    // say); all of them when it was the last.
    void reset_enet_peers_of(const Connection& ended) {
        ENetHost* h = host.get();
        if (h == nullptr) return;
        const bool last = connections.size() == 1;
        const auto id = ended.link().connect_id;
        for (ENetPeer* p = h->peers; p < h->peers + h->peerCount; ++p)
            if (p->state != ENET_PEER_STATE_DISCONNECTED && (last || (id && p->connectID == *id)))
                enet_peer_reset(p);
    }

    // A member listed for a request_retry that we were never introduced to (both copies of the
    // pair's Introduction were lost), or whose connection ended before it connected. Asking for it
    // makes the server send the pair's introduction again (PROTOCOL.md §4.15: members consented to
    // each other); at most one request every request_retry, the member listed longest first.
    void remind_party() {
        const Party& p = party.party();
        if (!p.joined || !rendezvous) {
            party_listed.clear();
            return;
        }
        std::erase_if(party_listed, [&](const auto& m) { return !party.is_member(m.first); });
        const std::string* oldest = nullptr;
        TimePoint oldest_since{};
        for (const auto& name : p.members) {
            if (name == config.name) continue;
            auto& [since, listed] =
                party_listed.try_emplace(name, now, Listed::unintroduced).first->second;
            if (const Connection* c = by_name(name)) {
                if (listed != Listed::connected)
                    listed =
                        c->state() == State::connected ? Listed::connected : Listed::introduced;
                continue;
            }
            if (listed == Listed::introduced) {  // ended before it connected: try again
                listed = Listed::unintroduced;
                since = now;
            }
            if (listed != Listed::unintroduced || now - since < config.request_retry) continue;
            if (oldest == nullptr || since < oldest_since) {
                oldest = &name;
                oldest_since = since;
            }
        }
        if (oldest != nullptr && connections.size() < config.max_peers &&
            rendezvous->remind(*oldest, now, *this))
            party_listed[*oldest].first = now;  // the next try, a request_retry later
    }

    // Ends a connection that had not connected yet, at once; the host hears it as "cancelled".
    void cancel(Connection& c) {
        c.cancel();
        Event e;
        e.type = EventType::disconnected;
        e.connection = c.id();
        e.peer = c.name();
        e.detail = "cancelled";
        emit(std::move(e));
    }

    // A connection ended: the IPs only it had a peer at need no permission on our allocation
    // any more (a standing relay, or a party's, outlives connections; the TURN client holds 8).
    void drop_permits_of(const Connection& gone) {
        if (!relay.started()) return;
        for (const std::uint32_t ip : {gone.peer_public_ip(), gone.relay_source_ip()}) {
            if (ip == 0) continue;
            const bool kept =
                std::any_of(connections.begin(), connections.end(), [&](const auto& k) {
                    return k.get() != &gone && !k->ended() &&
                           (k->peer_public_ip() == ip || k->relay_source_ip() == ip);
                });
            if (!kept) relay.drop_permit(ip);
        }
    }

    void stop_relay() {
        relay.stop(now, *this);
        for (const auto& c : connections) c->relay_stopped();
    }

    // ---- EnetSealer: ENet's datagrams, sealed by their connection's link ------------------
    // The datagram names its ENet connection (its connectID); a connection we do not know of
    // (a refused stranger) gets nothing sealed.
    std::size_t seal_enet(std::span<const std::uint8_t> datagram,
                          std::span<std::uint8_t> out) override {
        const auto of = detail::enet_connection_of(datagram);
        Connection* c = of ? by_connect_id(of->connect_id) : nullptr;
        if (c == nullptr) return 0;
        const std::size_t n = c->link().seal_enet(datagram, out);
        // Our CONNECT before the peer's nonce is known: it goes as a probe carrying it.
        return n == 0 && of->connect ? c->connect_probe(out) : n;
    }

    // ---- DatagramPath::Links ------------------------------------------------------------
    detail::PeerLink* by_probe_tag(std::uint32_t tag) override {
        for (const auto& c : connections)
            if (c->link().active() && c->link().channel.probe_tag() == tag) return &c->link();
        return nullptr;
    }
    detail::PeerLink* by_channel(std::uint32_t channel) override {
        for (const auto& c : connections)
            if (c->link().active() && c->link().channel.channel() == channel) return &c->link();
        return nullptr;
    }
    // An ENet datagram must name the ENet connection of the link it opened under (§11.4).
    bool admit_enet(detail::PeerLink& link, std::span<const std::uint8_t> plain) override {
        Connection* c = by_link(link);
        if (c == nullptr) return false;
        opened_by = c;
        return detail::admit_enet(link, plain, c->puncher().role() == protocol::Role::responder,
                                  [&](enet_uint32 id) { return by_connect_id(id) != nullptr; });
    }

    // ---- SignalSender: the party client's messages, sealed for the server -----------------
    bool send_signal(const protocol::Message& message) override {
        return rendezvous && rendezvous->send(message, *this);
    }
    [[nodiscard]] std::uint64_t instance() const override {
        return rendezvous ? rendezvous->instance() : 0;
    }
    [[nodiscard]] bool registered() const {
        return rendezvous && rendezvous->phase() == RendezvousClient::Phase::registered;
    }

    // Ends our connections to the party's members gracefully (leave_party()).
    void leave_party() {
        party.leave(*this);
        for (const auto& c : connections) {
            if (!c->party_member() || c->goodbye()) continue;
            c->cancel();
            Event e;
            e.type = EventType::disconnected;
            e.connection = c->id();
            e.peer = c->name();
            e.detail = "left the party";
            emit(std::move(e));
        }
        settle();
    }

    // ---- RawOutbox ----------------------------------------------------------------------
    void send_raw(Address to, std::span<const std::uint8_t> bytes) override {
        host.send_raw(to, bytes);
    }

    // ---- HostListener -------------------------------------------------------------------
    // Whose relayed datagram this is: the connection whose peer sends from the address our TURN
    // server reports (by IP: a NAT may map the peer to another port towards our TURN server
    // than towards its own); peers behind one IP are told apart by the envelope's tag or channel.
    Connection* relayed_from(Address peer, std::span<const std::uint8_t> payload) const {
        Connection* found = nullptr;
        int matches = 0;
        const auto relays_from = [&](const Connection& c) {
            return (c.peer_relayed() || c.relay_reflexive()) && c.relay_source_ip() == peer.ip;
        };
        for (const auto& c : connections) {
            if (!relays_from(*c)) continue;
            found = c.get();
            ++matches;
        }
        if (matches <= 1) return found;
        const auto key = detail::DatagramPath::key_of(payload);
        if (!key) return nullptr;
        for (const auto& c : connections) {
            if (!relays_from(*c)) continue;
            const auto& ch = c->link().channel;
            if (key->value == (key->probe ? ch.probe_tag() : ch.channel())) return c.get();
        }
        return nullptr;
    }

    // A datagram came through our allocation from `seen`, and no connection knows the peer's
    // relay: the peer may have had ours with its introduction (a standing relay, docs/RELAY.md)
    // before it had its own. It is routed as if from our TURN server (the path's name); the
    // connection adopts the path only when a probe of its peer opened (on_link_probe).
    bool adopt_relay(detail::Incoming& in, Address seen, std::span<const std::uint8_t> payload) {
        Connection* c = nullptr;
        for (const auto& k : connections)
            if (k->may_adopt_relay(seen)) {
                if (c != nullptr) {  // two peers at one IP: the probe's tag says whose
                    c = nullptr;
                    const auto key = detail::DatagramPath::key_of(payload);
                    for (const auto& j : connections)
                        if (key && key->probe && j->may_adopt_relay(seen) &&
                            j->link().channel.probe_tag() == key->value)
                            c = j.get();
                    break;
                }
                c = k.get();
            }
        if (c == nullptr) {
            ++counters.datagrams_dropped;
            return true;
        }
        const bool had = c->link().reflexive.has_value();
        if (!had) c->link().reflexive = relay.server();  // for a Config::relay_only link
        adopting = {c, seen};
        in.data = payload;
        in.from = relay.server();
        opened_by = nullptr;
        connect_taken = nullptr;
        const bool done =
            datagrams.route(in, static_cast<detail::DatagramPath::Links&>(*this), *this);
        const bool adopted = c->relay_reflexive().has_value();
        adopting.reset();
        if (!adopted) {
            if (!had) c->link().reflexive.reset();
            if (!done) ++counters.datagrams_dropped;  // only an opened probe may adopt
            return true;
        }
        if (done || opened_by == nullptr) return true;
        // The probe carried the initiator's CONNECT: ENet takes it from our TURN server.
        opened_by->heard_from(in.from, now);
        in.from = opened_by->enet_source(in.from, true);
        if (connect_taken != nullptr) connect_taken->handshake_from(in.from);
        return false;
    }
    struct Adopting {
        Connection* connection;
        Address seen;
    };
    std::optional<Adopting> adopting;  // adopt_relay's datagram, being routed

    bool on_datagram(detail::Incoming& in) override {
        using Kind = detail::Relay::Received::Kind;
        const auto r = relay.handle(in.data, in.from, now, *this);
        Connection* c = nullptr;
        switch (r.kind) {
            case Kind::consumed:
                return true;
            case Kind::dropped:
                ++counters.datagrams_dropped;
                return true;
            case Kind::peer_data:
                c = relayed_from(r.peer, r.payload);
                if (c == nullptr) return adopt_relay(in, r.peer, r.payload);
                // The peer sent it to our relayed address; to us it comes from the peer's
                // relay, where our answers go (and where ENet knows the peer by, if it
                // connected so), or, answering through our own allocation, from our TURN
                // server.
                c->heard_via_relay();
                in.data = r.payload;
                in.from = c->relay_arrival();
                break;
            case Kind::not_ours:
                break;
        }
        opened_by = nullptr;
        connect_taken = nullptr;
        if (datagrams.route(in, static_cast<detail::DatagramPath::Links&>(*this), *this))
            return true;
        // Sealed, the link it opened under says whose it is; plaintext ENet (benchmarks), the
        // relay it came through or the candidate it came from.
        Connection* source = opened_by != nullptr ? opened_by : c;
        if (source == nullptr && !sealed())
            for (const auto& k : connections)
                if (k->is_peer_address(in.from)) source = k.get();
        if (source != nullptr && opened_by != nullptr) {
            opened_by->heard_from(in.from, now);
            opened_by->handshake_heard(in.from);
        }
        if (source != nullptr && !sealed()) source->heard_from(in.from, now, false);
        if (source != nullptr) in.from = source->enet_source(in.from, opened_by != nullptr);
        if (connect_taken != nullptr) connect_taken->handshake_from(in.from);
        return false;
    }
    Connection* opened_by = nullptr;  // the connection the last ENet datagram opened under

    // Only the rendezvous' port refusing counts, and only while registering (RendezvousClient);
    // a peer candidate's closed port is an ordinary failed probe.
    void on_unreachable(const detail::Unreachable& error) override {
        if (rendezvous && error.port_unreachable())
            rendezvous->note_port_unreachable(error.destination);
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

    // A probe or its acknowledgement that opened under a connection's keys.
    void on_link_probe(detail::PeerLink& link, const protocol::Message& message,
                       Address from) override {
        Connection* c = by_link(link);
        if (c != nullptr && adopting && adopting->connection == c && !c->relay_reflexive())
            c->adopt_relay(adopting->seen);
        probe_taken = c != nullptr && c->on_probe(message, from, now);
        if (!probe_taken) ++counters.datagrams_dropped;
    }
    bool probe_taken = false;  // the last probe on_link_probe saw was taken

    // The initiator's CONNECT riding a probe that was taken (not a copy of one answered
    // already): ENet takes the first of each, once per connection. A CONNECT taken under
    // another nonce of the peer's than the current one may have been an earlier session's
    // first probe replayed (the same introduction may be acted on twice): its half-open ENet
    // peer gives way, so a replay cannot hold the responder's one handshake. Once the peer's
    // nonce is confirmed, probes of any other are dropped before they get here.
    bool take_connect(detail::PeerLink& link, std::span<const std::uint8_t> connect) override {
        Connection* c = by_link(link);
        if (!probe_taken || c == nullptr || !c->takes_connect()) return false;
        const auto of = detail::enet_connection_of(connect);
        if (!of || !of->connect) return false;
        const auto& nonce = link.channel.peer_nonce();
        if (link.connect_id) {
            if (*link.connect_id == of->connect_id || crypto::equal(link.connect_nonce, nonce))
                return false;  // taken already (one of the copies every round carries)
            ENetHost* h = host.get();
            for (ENetPeer* p = h->peers; p < h->peers + h->peerCount; ++p)
                if (p->state != ENET_PEER_STATE_DISCONNECTED && p->connectID == *link.connect_id)
                    enet_peer_reset(p);
            link.connect_id.reset();
            c->handshake_released();
        }
        link.connect_nonce = nonce;
        connect_taken = c;
        return true;
    }
    // The connection whose CONNECT the datagram being routed carries to ENet: it learns where
    // ENet will send its VERIFY_CONNECT (Connection::handshake_from).
    Connection* connect_taken = nullptr;
    void on_probe(const protocol::Message& /*message*/, Address /*from*/) override {
        ++counters.datagrams_dropped;  // every probe comes through on_link_probe
    }

    void on_enet_event(ENetEvent& event) override {
        switch (event.type) {
            case ENET_EVENT_TYPE_CONNECT:
                on_enet_connect(event);
                break;
            case ENET_EVENT_TYPE_RECEIVE:
                if (Connection* c = by_enet(event.peer))
                    c->on_enet_receive(*event.packet, event.channelID);
                enet_packet_destroy(event.packet);
                break;
            case ENET_EVENT_TYPE_DISCONNECT:
                if (Connection* c = by_enet(event.peer)) c->on_enet_disconnect(event.data);
                break;  // else a refused stranger
            case ENET_EVENT_TYPE_NONE:
                break;
        }
        settle();
    }

    void on_enet_connect(ENetEvent& event) {
        // The initiator's own peer, or the responder's: the connection whose link admitted the
        // CONNECT (its connectID), and which checks the token's bits and the source.
        Connection* c = by_connect_id(event.peer->connectID);
        if (c == nullptr && !sealed()) {
            // Plaintext ENet (benchmarks): no link saw the CONNECT; the connection whose token's
            // bits and candidates match takes it.
            for (const auto& k : connections) {
                if (k->link().connect_id || !k->on_enet_connect(event.peer, event.data, now))
                    continue;
                k->link().connect_id = event.peer->connectID;
                return;
            }
        }
        if (c == nullptr || !c->on_enet_connect(event.peer, event.data, now)) {
            ++counters.datagrams_dropped;
            host.disconnect_now(event.peer, 0);
        }
    }

    // ---- the steps ----------------------------------------------------------------------
    void on_signal(RendezvousClient::Signal s) {
        switch (s.kind) {
            case SignalKind::none:
                return;
            case SignalKind::registered: {
                if (state == State::registering) state = State::registered;
                standing_asks = 0;
                next_standing_ask = now;
                Event e;
                e.type = EventType::registered;
                e.address = rendezvous->public_address();
                emit(std::move(e));
                return;
            }
            case SignalKind::peer_offline: {
                if (state == State::registered && connections.empty()) state = State::waiting;
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
            case SignalKind::relay_credentials: {
                const auto& fresh = rendezvous->relay_credentials();
                if (fresh.token == 0 && wants_standing_relay() && !relay.standing()) {
                    // Our registration's relay (docs/RELAY.md, "Standing relays"): allocated
                    // now, or the allocation an introduction made is kept as the standing one.
                    relay.stand(fresh.relay, config.name, now, *this);
                    return;
                }
                if (!relay.on_credentials(fresh, now))
                    ++counters.datagrams_dropped;  // no connection renewing, or not its pair
                return;
            }
            case SignalKind::peer_relay: {
                const auto& offer = rendezvous->peer_relay();
                Connection* c = nullptr;
                // Setting up, or connected: a peer whose allocation was made anew offers its new
                // relayed address mid-session.
                for (const auto& k : connections)
                    if (k->token() == offer.token &&
                        (k->puncher().active() || k->state() == State::connected))
                        c = k.get();
                if (c == nullptr || !relay.started()) {
                    ++counters.datagrams_dropped;
                    return;
                }
                relay.want_permit(c->on_peer_relay(offer));
                return;
            }
            case SignalKind::failed:
                for (const auto& c : connections) c->cancel();
                settle();
                state = State::failed;
                emit_error(s.error, failure_sentence(s.error));
                return;
            case SignalKind::party_members:
                party.on_members(rendezvous->party_members());
                return;
            case SignalKind::party_refused:
                party.on_refused(rendezvous->party_refused());
                return;
            case SignalKind::party_join_asked:
                party.on_join_asked(rendezvous->party_join_asked(), now);
                return;
            case SignalKind::request_failed:
                if (state == State::waiting) state = State::registered;
                emit_error(Error::peer_not_online,
                           "nobody named '" + pending_peer + "' came online in time", pending_peer);
                return;
        }
    }

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
        // As connect(asker, wait) would, when no connection is under way.
        if (listed && state == State::registered && connections.empty() &&
            rendezvous->wanted().empty()) {
            pending_peer = asker;
            rendezvous->request(asker, kAcceptWait, now);
        }
    }

    std::string failure_sentence(Error e) const {
        const std::string at = "the rendezvous at " + config.server.to_string();
        switch (e) {
            case Error::server_unreachable:
                if (rendezvous && rendezvous->refused())
                    return at + " refused: nothing listens on that port (ICMP port unreachable)";
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
        if (Connection* c = by_name(intro.peer)) {
            // A repeat of the introduction we act on is harmless (the requester reminded the
            // server: it allows one more probe while the peer is unheard); another one for a
            // peer we have a connection to is ignored.
            if (intro.token != c->token())
                ++counters.datagrams_dropped;
            else
                c->reintroduced();
            return;
        }
        if (intro.token == refused_token) return;  // a repeat: the error was said once
        if (connections.size() >= config.max_peers) {
            ++counters.datagrams_dropped;  // as many connections as Config::max_peers
            return;
        }
        const auto& wanted = rendezvous->wanted();
        // A member of the party we are in (or joining): joining was consent, whatever
        // Config::consent says, and both sides of the pair probe at the full pace and remind the
        // server while they have not heard the peer.
        const bool party_intro =
            (intro.flags & protocol::IntroductionFlags::party) != 0 && party.active();
        const bool asked_for = party_intro || (!wanted.empty() && intro.peer == wanted);
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
                           std::string(intro.peer),
                       std::string(intro.peer));
            return;
        }
        const bool relay_only_intro = (intro.flags & protocol::IntroductionFlags::relay_only) != 0;
        if (relay_only_intro && !can_relay_only(intro)) return;
        auto c = std::make_unique<Connection>(config, next_id++, relay, *this, events);
        if (!c->begin(rendezvous->channel().key_pair(), config.name, intro,
                      with_identity ? &identity : nullptr, asked_for, datagrams.unauthenticated(),
                      now)) {
            ++counters.datagrams_dropped;
            return;
        }
        connections.push_back(std::move(c));
        if (!wanted.empty() && intro.peer == wanted) rendezvous->cancel_request();
        if (state == State::waiting) state = State::registered;
        if (config.use_relay && intro.relay.count > 0) {
            // In parallel with punching, so a failed punch costs little time. One allocation
            // serves every connection: a later one adds its permissions to it.
            if (!relay.started()) relay.start(intro.relay, intro.token, intro.peer, now, *this);
            relay.want_permit(intro.peer_public.ip);
        }
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
        emit_error(Error::punch_failed,
                   why + ", and " + who +
                       " hides its address: a relay-only introduction cannot connect to " +
                       std::string(intro.peer),
                   std::string(intro.peer));
        return false;
    }

    // The initiator's ENet connect, decided while receiving, done after.
    void do_pending_connects() {
        for (const auto& c : connections) {
            const auto to = c->take_enet_connect();
            if (!to) continue;
            const ENetAddress address = detail::to_enet(*to);
            // ENet 1.3.17 numbers connections with ++host->randomSeed, a seed made of the host's
            // address in memory and the time in seconds: two players' hosts started in the same
            // second at the same address (no ASLR, or the sanitizers' allocator) hand out the
            // same connectIDs, and a member that two of them connect to would refuse the second
            // (a connectID another connection holds, DatagramPath::admit_enet). Drawn from
            // libsodium for every connection instead.
            host.get()->randomSeed = static_cast<enet_uint32>(crypto::random_u64());
            ENetPeer* p = enet_host_connect(host.get(), &address, config.channels.size(),
                                            detail::connect_data(c->token()));
            if (p == nullptr) {
                c->enet_refused();
                continue;
            }
            c->attach(p);
            // Connected on the introduction (PROTOCOL.md §6 step 4): ENet makes its CONNECT now,
            // which the link keeps for the first round of probes to carry, this very frame.
            host.flush();
        }
        settle();
    }

    // ---- a standing relay (Config::standing_relay, docs/RELAY.md) --------------------------
    [[nodiscard]] bool wants_standing_relay() const {
        return config.use_relay && config.standing_relay;
    }
    std::uint32_t standing_asks = 0;  // RelayRenew{0} sent since registered, unanswered
    TimePoint next_standing_ask{};
    std::uint32_t standing_offered = 0;  // the Relay::allocation() offered as standing
    std::uint32_t standing_offers = 0;   // offers of it sent
    TimePoint next_standing_offer{};

    // Asks for the standing grant once registered (a few times: the server answers nothing when
    // it grants no relay), and offers the standing allocation's relayed address for the server
    // to hand to whoever it introduces us to: three times a second apart when it is new (there
    // is no acknowledgement), then every kStandingOfferInterval.
    void update_standing_relay() {
        if (!wants_standing_relay() || !registered()) return;
        if (!relay.standing() && standing_asks < kStandingAsks && now >= next_standing_ask) {
            rendezvous->send(protocol::RelayRenew{rendezvous->instance(), 0, config.name}, *this);
            ++standing_asks;
            next_standing_ask = now + kStandingAskInterval;
        }
        if (!relay.standing() || !relay.allocated()) return;
        if (relay.allocation() != standing_offered) {
            standing_offered = relay.allocation();
            standing_offers = 0;
            next_standing_offer = now;
        }
        if (now < next_standing_offer) return;
        rendezvous->send(
            protocol::RelayOffer{rendezvous->instance(), 0, config.name, relay.relayed(),
                                 config.hide_address ? Address{} : relay.mapped()},
            *this);
        ++standing_offers;
        next_standing_offer =
            now + (standing_offers < 3 ? kStandingAskInterval : kStandingOfferInterval);
    }

    void update_relay() {
        if (relay.started() && !relay_needed()) stop_relay();
        update_standing_relay();
        detail::Relay::Use use;
        use.setting_up = any_connection_setting_up();
        use.renew =
            relay.standing() || std::any_of(connections.begin(), connections.end(),
                                            [](const auto& c) { return c->renews_relay(); });
        use.relayed = std::any_of(connections.begin(), connections.end(), [](const auto& c) {
            return c->state() == State::connected && c->path() == Path::relay;
        });
        use.silence = config.path_silence;
        use.standby = std::any_of(connections.begin(), connections.end(), [](const auto& c) {
            return c->state() == State::connected && c->path() != Path::relay;
        });
        use.standby_silence = 2 * config.standby_interval;
        const Address server = relay.server();
        relay.update(now, use, *rendezvous, *this);
        // A lost allocation made anew on another server: ENet's peers that knew the relay path
        // by our TURN server's address (relay-only introductions) follow it.
        if (relay.server() != server && server != Address{})
            for (const auto& c : connections) c->relay_moved(server);
        for (const auto& c : connections) c->offer_relay(*rendezvous, now, *this);
    }
};

Session::Session(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Session::~Session() {
    close_now();
}

Error Session::start(TimePoint now) {
    Impl& s = *impl_;
    if (s.state != State::idle)
        return s.refuse(Error::invalid_state, "start() was called already (the session is " +
                                                  std::string(to_string(state())) + ")");
    s.now = now;
    if (std::string problem = name_problem(s.config.name); !problem.empty()) {
        s.state = State::failed;
        return s.refuse(Error::name_invalid, "Config::name: " + problem);
    }
    if (s.config.server.ip == 0 || s.config.server.port == 0) {
        s.state = State::failed;
        return s.refuse(Error::invalid_argument,
                        "Config::server is not set (" + s.config.server.to_string() +
                            "): give the rendezvous' address (resolve_address())");
    }
    if (s.config.channels.empty() ||
        s.config.channels.size() > ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT) {
        s.state = State::failed;
        return s.refuse(Error::invalid_argument,
                        "Config::channels: " + std::to_string(s.config.channels.size()) +
                            " channels; open 1 to " +
                            std::to_string(ENET_PROTOCOL_MAXIMUM_CHANNEL_COUNT));
    }
    if (!crypto::init()) {
        s.state = State::failed;
        return s.refuse(Error::socket_error, "libsodium could not be initialised");
    }
    const detail::EnetLimits limits{s.config.max_packet_size, s.config.max_waiting_data};
    // One ENet peer per connection, and one more: a stranger may try to connect to our socket,
    // and the spare slot lets us refuse it without blocking a real peer.
    const std::size_t slots = std::clamp<std::size_t>(s.config.max_peers, 1, 4094) + 1;
    if (!s.host.open(Address{s.config.local_ip, s.config.local_port}, slots,
                     s.config.channels.size(), limits,
                     s.sealed() ? static_cast<detail::EnetSealer*>(&s) : nullptr)) {
        s.state = State::failed;
        return s.refuse(Error::socket_error,
                        "cannot open a UDP socket on " +
                            Address{s.config.local_ip, s.config.local_port}.to_string() +
                            " (Config::local_ip, local_port): in use, or not an address of ours");
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
    const std::string who(peer);
    if (std::string problem = name_problem(peer); !problem.empty())
        return s.refuse(Error::name_invalid, "connect(): " + problem, who);
    if (peer == s.config.name)
        return s.refuse(Error::invalid_argument,
                        "connect(): '" + who + "' is our own name: ask for another player", who);
    if (std::string why = s.not_running("connect()"); !why.empty())
        return s.refuse(Error::invalid_state, why, who);
    // One connect() asks at a time; none for a peer we have a connection to.
    if (s.rendezvous && !s.rendezvous->wanted().empty())
        return s.refuse(Error::invalid_state,
                        "connect(): still asking for '" + s.rendezvous->wanted() +
                            "' (disconnect() cancels that)",
                        who);
    if (s.by_name(peer) != nullptr)
        return s.refuse(Error::invalid_state,
                        "connect(): there is a connection to '" + who + "' already", who);
    if (s.connections.size() >= s.config.max_peers)
        return s.refuse(Error::invalid_state,
                        "connect(): Config::max_peers (" + std::to_string(s.config.max_peers) +
                            ") connections already",
                        who);
    s.now = now;
    s.pending_peer = peer;
    s.rendezvous->request(peer, wait, now, &s);  // rides with a Register already out
    return Error::none;
}

void Session::update(TimePoint now) {
    Impl& s = *impl_;
    if (s.state == State::idle || s.state == State::closed || !s.host.is_open()) return;
    s.now = now;
    if (s.state == State::closing) {
        // Each goodbye ends at its own bound (2 s) too: a longer linger ends with the last.
        if (!s.close_by) s.close_by = now + s.config.close_linger;
        if (s.connections.empty() || now >= *s.close_by) {
            s.finish_close();
            return;
        }
    }
    s.host.service(s);
    // ICMP errors matter only until registered (the watch costs a send now and then: EnetHost).
    s.host.watch_unreachable(s.rendezvous &&
                             s.rendezvous->phase() == RendezvousClient::Phase::registering);
    s.do_pending_connects();
    for (const auto& c : s.connections) c->pace_handshake(s.host.get());
    Connection* unheard = nullptr;  // the one that waited longest for a reminder
    for (const auto& c : s.connections)
        if (c->wants_reminder() &&
            (unheard == nullptr || c->last_reminder() < unheard->last_reminder()))
            unheard = c.get();
    if (unheard != nullptr)
        unheard->remind(*s.rendezvous, now, s);
    else
        s.remind_party();
    if (s.rendezvous) s.on_signal(s.rendezvous->update(now, s));
    s.party.update(now, s.registered(), s);
    s.update_relay();
    for (const auto& c : s.connections) {
        c->update(now, s.datagrams.unauthenticated());
        c->linger(now);
    }
    s.settle();
    s.host.flush();
}

bool Session::poll(Event& event) {
    return impl_->events.pop(event);
}

namespace {

enet_uint32 enet_flags(Delivery delivery) {
    switch (delivery) {
        case Delivery::reliable:
            return ENET_PACKET_FLAG_RELIABLE;
        case Delivery::sequenced:
            return 0;
        case Delivery::unsequenced:
            return ENET_PACKET_FLAG_UNSEQUENCED;
    }
    return 0;
}

// Queues `data` for every ENet peer in `to` (one packet, shared), delivered as `delivery` says.
// False when none took it.
bool send_packet(std::span<ENetPeer* const> to, Channel channel, Delivery delivery,
                 std::span<const std::uint8_t> data) {
    if (to.empty()) return false;
    const enet_uint32 flags = enet_flags(delivery);
    ENetPacket* packet = enet_packet_create(data.data(), data.size(), flags);
    if (packet == nullptr) return false;
    bool sent = false;
    for (ENetPeer* peer : to)
        sent = enet_peer_send(peer, static_cast<enet_uint8>(channel), packet) == 0 || sent;
    if (packet->referenceCount == 0) enet_packet_destroy(packet);
    return sent;
}

bool sendable(const Connection& c) {
    return c.state() == State::connected && c.enet_peer() != nullptr && !c.leaving();
}

}  // namespace

bool Session::send(Channel channel, std::span<const std::uint8_t> data) {
    const auto delivery = impl_->delivery(channel, "send()");
    if (!delivery) return false;
    std::vector<ENetPeer*> to;
    for (const auto& c : impl_->connections)
        if (sendable(*c)) to.push_back(c->enet_peer());
    return send_packet(to, channel, *delivery, data);
}

bool Session::send_to(PeerId peer, Channel channel, std::span<const std::uint8_t> data) {
    const auto delivery = impl_->delivery(channel, "send_to()");
    if (!delivery) return false;
    const Connection* c = impl_->by_id(peer);
    if (c == nullptr || !sendable(*c)) return false;
    ENetPeer* to = c->enet_peer();
    return send_packet(std::span(&to, 1), channel, *delivery, data);
}

void Session::disconnect() {
    Impl& s = *impl_;
    s.party.leave(s);
    bool said = false;
    for (const auto& c : s.connections) {
        if (c->goodbye()) continue;  // connected: a disconnected event follows from ENet
        s.cancel(*c);
        said = said || c->name() == s.pending_peer;
    }
    s.settle();
    const bool asking = s.rendezvous && !s.rendezvous->wanted().empty();
    if (!asking) return;
    s.rendezvous->cancel_request();
    if (s.state == State::waiting) s.state = State::registered;
    if (said) return;
    Event e;
    e.type = EventType::disconnected;
    e.peer = s.pending_peer;
    e.detail = "cancelled";
    s.emit(std::move(e));
}

void Session::disconnect(PeerId peer) {
    Impl& s = *impl_;
    Connection* c = s.by_id(peer);
    if (c == nullptr || c->goodbye()) return;
    s.cancel(*c);
    s.settle();
}

void Session::close(TimePoint now) {
    Impl& s = *impl_;
    if (s.state == State::closing || s.state == State::closed) return;
    if (s.state == State::idle || s.state == State::failed) {
        close_now();
        return;
    }
    s.now = now;
    // As disconnect() does, and unregistered at once: nobody can be introduced to us any more.
    disconnect();
    if (s.rendezvous) s.rendezvous->unregister(s);
    s.host.flush();
    // The linger's clock starts at the next update, as each goodbye's does (Connection::linger).
    s.state = State::closing;
    if (s.connections.empty()) s.finish_close();
}

void Session::close_now() {
    Impl& s = *impl_;
    if (s.state == State::closed) return;
    if (s.state == State::idle) {
        s.state = State::closed;
        return;
    }
    s.finish_close();
}

Error Session::join_party(std::string_view party, PartyOptions options, TimePoint now) {
    Impl& s = *impl_;
    const std::string name(party);
    if (std::string problem = name_problem(party); !problem.empty())
        return s.refuse(Error::name_invalid, "join_party(): " + problem);
    if (std::string why = s.not_running("join_party()"); !why.empty())
        return s.refuse(Error::invalid_state, why);
    if (s.party.active())
        return s.refuse(Error::invalid_state, "join_party(): already in the party '" +
                                                  s.party.party().name + "' (leave_party() first)");
    const Error e = s.party.join(party, options);
    if (e != Error::none) return s.refuse(e, "join_party(): cannot join '" + name + "'");
    s.now = now;
    s.party.update(now, s.registered(), s);  // at once when registered
    return Error::none;
}
void Session::leave_party() {
    impl_->leave_party();
}
Error Session::admit(std::string_view player) {
    Impl& s = *impl_;
    const std::string who(player);
    if (std::string problem = name_problem(player); !problem.empty())
        return s.refuse(Error::name_invalid, "admit(): " + problem, who);
    const Party& p = s.party.party();
    std::string why;
    if (!p.joined)
        why = "admit(): we are in no party yet";
    else if (!p.admit)
        why = "admit(): the party '" + p.name + "' lets anyone in (PartyOptions::admit is off)";
    else if (p.host() != s.config.name)
        why = "admit(): only the party's host (" + p.host() + ") admits";
    if (!why.empty()) return s.refuse(Error::invalid_state, why, who);
    if (s.party.admit(player, s) != Error::none)
        return s.refuse(Error::invalid_state, "admit(): cannot admit '" + who + "'", who);
    return Error::none;
}
const Party& Session::party() const {
    return impl_->party.party();
}

std::vector<PeerInfo> Session::peers() const {
    std::vector<PeerInfo> out;
    for (const auto& c : impl_->connections) out.push_back(c->info(impl_->now));
    return out;
}
std::optional<PeerInfo> Session::peer(PeerId id) const {
    const Connection* c = impl_->by_id(id);
    if (c == nullptr) return std::nullopt;
    return c->info(impl_->now);
}

State Session::state() const {
    const Impl& s = *impl_;
    if (s.state == State::idle || s.state == State::failed || s.state == State::closing ||
        s.state == State::closed)
        return s.state;
    State best = s.state;
    for (const auto& c : s.connections)
        if (progress(c->state()) > progress(best)) best = c->state();
    return best;
}
Path Session::path() const {
    const Connection* c = impl_->current();
    return c == nullptr ? Path::none : c->path();
}
Address Session::public_address() const {
    return impl_->rendezvous ? impl_->rendezvous->public_address() : Address{};
}
Address Session::local_address() const {
    return impl_->host.local_address();
}
int Session::socket_handle() const {
    const Impl& s = *impl_;
    if (!s.host.is_open() || s.state == State::closed || s.state == State::idle) return -1;
    return static_cast<int>(s.host.get()->socket);
}
Address Session::peer_address() const {
    const Connection* c = impl_->current();
    return c == nullptr ? Address{} : c->peer_address();
}
const std::string& Session::peer_name() const {
    static const std::string none;
    const Connection* c = impl_->current();
    return c == nullptr ? none : c->name();
}
const Config& Session::config() const {
    return impl_->config;
}

std::optional<ResumeTicket> Session::resume_ticket() const {
    if (!impl_->rendezvous) return std::nullopt;
    return impl_->rendezvous->ticket();
}

Error Session::renew_resume_ticket() {
    Impl& s = *impl_;
    if (!s.rendezvous || !s.rendezvous->renew_cookie(s))
        return s.refuse(Error::invalid_state, "renew_resume_ticket(): not registered");
    return Error::none;
}

Stats Session::stats() const {
    const Impl& s = *impl_;
    Stats st = s.counters;
    st.datagrams_dropped += s.datagrams.dropped();
    st.unauthenticated += s.datagrams.unauthenticated();
    if (s.rendezvous) {
        st.registrations_sent = s.rendezvous->registrations_sent();
        st.challenges = s.rendezvous->challenges();
        st.resumed = s.rendezvous->resumed();
    }
    st.probes_sent = s.probes_sent_before;
    st.probes_received = s.probes_received_before;
    st.lan_candidates_ignored = s.lan_ignored_before;
    st.punch_elapsed = s.last_punch_elapsed;
    for (const auto& c : s.connections) {
        st.probes_sent += c->puncher().probes_sent();
        st.probes_received += c->puncher().probes_received();
        st.lan_candidates_ignored += c->puncher().lan_ignored();
    }
    if (const Connection* c = s.current()) {
        const PeerInfo info = c->info(s.now);
        st.punch_elapsed = info.punch_elapsed;
        st.rtt_ms = info.rtt_ms;
        st.packet_loss = info.packet_loss;
        st.last_heard = info.last_heard;
    }
    if (const ENetHost* h = s.host.get()) {
        // ENet counts what its sendmsg sent: sealed, the sealed size.
        st.bytes_sent = h->totalSentData + s.host.raw_bytes_sent();
        st.bytes_received = h->totalReceivedData;
    }
    st.relay_allocated = s.relay.allocated();
    st.relay_standing = s.relay.standing();
    st.relay_renewals = s.relay.renewals();
    st.relay_reallocations = s.relay.reallocations();
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
        case Error::invalid_state:
            return "invalid_state";
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
        case State::closing:
            return "closing";
        case State::closed:
            return "closed";
    }
    return "?";
}

const char* to_string(Delivery d) {
    switch (d) {
        case Delivery::reliable:
            return "reliable";
        case Delivery::sequenced:
            return "sequenced";
        case Delivery::unsequenced:
            return "unsequenced";
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

bool valid_name(std::string_view name) {
    return protocol::valid_name(name);
}

std::string name_problem(std::string_view name) {
    if (protocol::valid_name(name)) return {};
    if (name.empty()) return "a name cannot be empty";
    const std::string shown =
        name.size() > 40 ? std::string(name.substr(0, 40)) + "..." : std::string(name);
    if (name.size() > protocol::kMaxNameLength)
        return "'" + shown + "' is " + std::to_string(name.size()) +
               " characters long; names are at most " + std::to_string(protocol::kMaxNameLength);
    for (const char ch : name) {
        if (protocol::name_char(ch)) continue;
        const auto u = static_cast<unsigned char>(ch);
        const std::string what = u > 0x20 && u < 0x7F ? "'" + std::string(1, ch) + "'"
                                 : ch == ' '          ? std::string("a space")
                                                      : "byte " + std::to_string(u);
        return "'" + shown + "' is not a valid name: " + what + " is not one of A-Z a-z 0-9 _ . -";
    }
    return {};
}

std::string to_string(const Event& e) {
    const std::string who = e.peer.empty() ? std::string("the peer") : e.peer;
    switch (e.type) {
        case EventType::registered:
            return "registered (public address " + e.address.to_string() + ")";
        case EventType::waiting_for_peer:
            return "waiting for " + who + " to come online";
        case EventType::introduced:
            return "introduced to " + who + " at " + e.address.to_string();
        case EventType::connected:
            return "connected to " + who + " at " + e.address.to_string() + " (" +
                   to_string(e.path) + ")";
        case EventType::path_changed:
            return "path to " + who + " changed: " + to_string(e.path) + " " +
                   e.address.to_string();
        case EventType::received:
            return "received " + std::to_string(e.data.size()) + " bytes from " + who +
                   " on channel " + std::to_string(static_cast<unsigned>(e.channel));
        case EventType::disconnected:
            return "disconnected from " + who + ": " + (e.detail.empty() ? "ended" : e.detail) +
                   " (" + to_string(e.error) + ")";
        case EventType::error:
            return (e.detail.empty() ? std::string(to_string(e.error)) : e.detail) + " (" +
                   to_string(e.error) + ")";
        case EventType::warning:
            return "warning: " + e.detail;
        case EventType::introduction_requested:
            return who + " asked to be introduced";
        case EventType::party_joined:
            return "joined the party (host " + who + ")";
        case EventType::member_joined:
            return who + " is in the party";
        case EventType::member_left:
            return who + " left the party";
        case EventType::host_changed:
            return who + " hosts the party now";
        case EventType::join_requested:
            return who + " asks to join the party";
    }
    return to_string(e.type);
}

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
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
