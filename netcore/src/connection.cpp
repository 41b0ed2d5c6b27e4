#include "connection.hpp"

#include <algorithm>

#include "enet_host.hpp"

namespace netcore::detail {

namespace {

// A connected session whose path went silent probes every path at probe_interval, doubling
// up to this while none answers (an outage of a minute costs ~60 rounds, not 1500).
constexpr Duration kMaxSuspectInterval{1000};
// An address the peer's ENet data came from is validated with at most this many probes, this far
// apart, and a new validation starts at most once per kValidateGap: whoever makes the peer's
// data arrive from elsewhere (a malicious peer spoofing a victim's address, an on-path attacker
// racing the peer's datagrams: the replay window lets each through once) gets at most
// kValidateProbes probes a second sent there. Probes never start one: they are answered where
// they came from, 1:1, and a replayed probe opens again.
constexpr std::uint32_t kValidateProbes = 3;
constexpr Duration kValidateInterval{100};
constexpr Duration kValidateGap{1000};
// A goodbye (PROTOCOL.md §6, step 7). The leaver keeps its ENet peer and keys until the peer
// acknowledges its DISCONNECT, at most kGoodbyeBound after goodbye(): an acknowledgement lost
// after the peer had gone never comes (a reset peer answers nothing), and a dead peer must not
// hold disconnect() for long. Queued data goes first, for at most kGoodbyeDrain; then the
// DISCONNECT goes out anyway (what is still unacknowledged is dropped), so the peer hears the
// goodbye even when the path lost much of the data. Meanwhile every re-send (data and
// DISCONNECT) follows 2 round trips, bounded to kGoodbyeResendMin..Max, without ENet's doubling:
// doubled from ~100 ms, six lost copies in a row would outlast the bound. The DISCONNECT thus
// goes out at least (kGoodbyeBound - kGoodbyeDrain) / kGoodbyeResendMax = 5 times (10 when
// nothing was queued): under 10% loss each way, all lost with probability 1e-5 (1e-10).
// ENet's own timeout counts from the oldest unacknowledged command, which may be older than the
// goodbye (a line held back by loss): while leaving it is pushed past the bound (goodbye()), so
// the bound, counted from the goodbye, ends it.
constexpr Duration kGoodbyeDrain{1000};
constexpr Duration kGoodbyeBound{2000};
constexpr enet_uint32 kGoodbyeResendMinMs = 50;
constexpr enet_uint32 kGoodbyeResendMaxMs = 200;
// How often a client re-sends its RelayOffer until the peer is heard through the relay.
constexpr Duration kOfferInterval{250};

}  // namespace

bool Connection::begin(const crypto::KeyPair& me, std::string_view my_name,
                       const protocol::Introduction& intro, const crypto::SymmetricKey* identity,
                       bool asked, std::uint32_t unauthenticated, TimePoint now) {
    name_ = intro.peer;
    unauthenticated_at_intro_ = unauthenticated;
    if (!link_.begin(me, my_name, intro, identity)) {
        state_ = State::closed;
        emit_error(Error::socket_error,
                   "could not start a sealed session with " + name_ + ": its key is unusable");
        return false;
    }
    const bool relay_only_intro = (intro.flags & protocol::IntroductionFlags::relay_only) != 0;
    link_.relay_only = config_.relay_only || relay_only_intro;
    through_relay_ = relay_only_intro;
    link_.framer = relay_only_intro ? this : nullptr;
    asked_ = asked;
    party_member_ = (intro.flags & protocol::IntroductionFlags::party) != 0;
    puncher_.begin(intro, now, asked);
    state_ = State::punching;
    now_ = now;
    early_connect_ = puncher_.role() == protocol::Role::initiator && !link_.relay_only &&
                     !config_.insecure_plaintext_enet;
    // ENet's peer starts at the peer's public address; the handshake moves to the path that
    // answers first (on_path_open, handshake_heard).
    if (early_connect_) pending_connect_ = intro.peer_public;
    peer_public_ip_ = intro.peer_public.ip;
    Event e;
    e.type = EventType::introduced;
    e.connection = id_;
    e.peer = name_;
    e.address = intro.peer_public;
    events_.push_back(std::move(e));
    // The first probes right away; the initiator's once ENet made its CONNECT for them to carry
    // (the session connects ENet, then updates us in the same frame).
    if (!early_connect_)
        puncher_.update(now, config_.probe_interval, *this,
                        link_.relay_only ? Puncher::Targets::relay_only : Puncher::Targets::all);
    return true;
}

// ---- Outbox, RelayFramer -----------------------------------------------------------------

void Connection::send(Address to, const protocol::Message& message) {
    std::array<std::uint8_t, protocol::kMaxDatagramSize> buf;
    std::size_t n = 0;
    if (const auto* probe = std::get_if<protocol::Probe>(&message); probe && carries_connect(to)) {
        protocol::Probe with = *probe;
        with.connect = link_.handshake_datagram();
        n = link_.channel.seal_probe(with, buf);
    } else {
        n = link_.channel.seal_probe(message, buf);
    }
    if (n == 0) return;
    const bool reflexive = reflexive_ && to == reflexive_via_;
    if (!reflexive && !through_relay_) {
        out_.send_raw(to, std::span(buf.data(), n));
        return;
    }
    // Through our own allocation: back to where our TURN server sees the peer (a reflexive
    // relay), or, relay-only, to the peer's relay and nowhere else.
    if (!reflexive && (!peer_relayed_ || to != *peer_relayed_ || !relay_.started())) return;
    std::array<std::uint8_t, protocol::kMaxDatagramSize + kRelayFramingRoom> framed;
    const std::size_t m =
        relay_.wrap(reflexive ? *reflexive_ : *peer_relayed_, std::span(buf.data(), n), framed);
    if (m > 0)
        out_.send_raw(reflexive ? reflexive_via_ : relay_.server(), std::span(framed.data(), m));
}

// Our CONNECT rides the probes until ENet has its answer (PROTOCOL.md §6 step 4); to the
// peer's relay only once the relay may be used (Config::relay_delay).
bool Connection::carries_connect(Address to) const {
    if (!early_connect_ || peer_ == nullptr || peer_->state != ENET_PEER_STATE_CONNECTING ||
        link_.handshake_size == 0)
        return false;
    return puncher_.path_of(to) != Path::relay || now_ - relay_clock() >= config_.relay_delay;
}

std::size_t Connection::frame(std::span<const std::uint8_t> sealed, std::span<std::uint8_t> out) {
    if (through_relay_) {
        if (!relay_.started() || !peer_relayed_) return 0;
        return relay_.wrap(*peer_relayed_, sealed, out);
    }
    // A reflexive relay: framed while ENet sends through it; else as sealed. Before we know
    // ENet's peer (the responder's VERIFY_CONNECT goes out while ENet takes the CONNECT), ENet
    // sends to where the CONNECT came from.
    const ENetPeer* enet = handshake_peer();
    const Address to = enet != nullptr ? from_enet(enet->address) : handshake_from_;
    if (reflexive_ && to == reflexive_via_) return relay_.wrap(*reflexive_, sealed, out);
    if (sealed.size() > out.size()) return 0;
    std::copy(sealed.begin(), sealed.end(), out.begin());
    return sealed.size();
}

bool Connection::may_adopt_relay(Address seen) const {
    // Only a standing relay: its address reached the peer with the Introduction, before ours
    // could have. An allocation made for this introduction is offered to the peer while the
    // peer offers its own, and the pair relays the usual way.
    return setting_up() && !through_relay_ && !peer_relayed_ && !reflexive_ && relay_.standing() &&
           relay_.allocated() && peer_public_ip_ != 0 && seen.ip == peer_public_ip_;
}

Address Connection::adopt_relay(Address seen) {
    reflexive_ = seen;
    reflexive_via_ = relay_.server();
    link_.reflexive = reflexive_via_;
    link_.framer = this;
    puncher_.add_relay(reflexive_via_);
    relay_source_ip_ = seen.ip;
    heard_via_relay_ = true;  // the peer has our relay: no need to offer it
    return reflexive_via_;
}

Address Connection::relay_arrival() const {
    const ENetPeer* enet = handshake_peer();
    if (reflexive_ &&
        (!peer_relayed_ || (enet != nullptr && from_enet(enet->address) == reflexive_via_)))
        return reflexive_via_;
    return peer_relayed_.value_or(reflexive_via_);
}

Address Connection::enet_address_of(Address peer_side) const {
    return through_relay() && peer_side == *peer_relayed_ ? relay_.server() : peer_side;
}

Address Connection::peer_side_of(Address enet_side) const {
    return through_relay() && enet_side == relay_.server() ? *peer_relayed_ : enet_side;
}

// ENet drops what does not come from peer->address. While a connection moves between paths
// (to the relay and back, or after the peer's NAT rebound) the peer sends from another address
// for a moment: what opened under the peer's keys is the peer's, wherever it came from (its
// replay window stops a copy re-sent from elsewhere). Only where ENet sends moves, and only
// after a probe there was acknowledged (heard_from). Plaintext ENet (benchmarks): an address
// the peer proved it holds (it sent our token from there).
Address Connection::enet_source(Address from, bool authenticated) const {
    if (through_relay() && from == *peer_relayed_) return relay_.server();
    // Connecting, the handshake's peer: the initiator may move to a direct path the moment it
    // is connected, while the responder still waits for the acknowledgement of its
    // VERIFY_CONNECT, which then comes from the direct address.
    const ENetPeer* enet = handshake_peer();
    if (enet == nullptr || state_ == State::closed) return from;
    const Address current = from_enet(enet->address);
    if (from != current && (authenticated || (puncher_.active() && puncher_.verified(from))))
        return current;
    return from;
}

// ---- what comes in -------------------------------------------------------------------------

bool Connection::on_probe(const protocol::Message& message, Address from, TimePoint now) {
    if (!first_heard_) first_heard_ = now;
    now_ = now;
    if (const auto* probe = std::get_if<protocol::Probe>(&message)) {
        if (!puncher_.handle_probe(*probe, from, *this)) return false;
        heard_from(from, now, false);
        // A triggered probe (ICE's triggered check): the peer's probe came through from there,
        // so ours can get there now (it opened our NAT, or taught us the port its NAT picked);
        // the next round may be a probe interval away, a large part of a round trip. The
        // initiator's carries the CONNECT. One per probe taken, and only to where an
        // authenticated probe came from, until that address acknowledged one of ours.
        if (setting_up())
            if (const auto* c = puncher_.candidate(from); c != nullptr && !c->acked)
                puncher_.probe(from, now, *this);
        return true;
    }
    const auto& ack = std::get<protocol::ProbeAck>(message);
    if (!puncher_.active() || ack.token != puncher_.token() || !puncher_.fresh(ack, from))
        return false;  // not ours, or a copy of one already taken
    heard_from(from, now, false);
    if (const auto open = puncher_.handle_ack(ack, from, now)) on_path_open(*open, now);
    return true;
}

std::uint32_t Connection::on_peer_relay(const protocol::PeerRelay& relay) {
    if (peer_relayed_ == relay.relayed) return 0;  // the peer re-sends its offer until it hears us
    // Another address: the peer's allocation was made anew (its TURN server restarted), and
    // the relay path moves with it. Only the server sends PeerRelay, with our token.
    const std::optional<Address> was =
        peer_relayed_ ? std::optional(enet_address_of(*peer_relayed_)) : std::nullopt;
    peer_relayed_ = relay.relayed;
    link_.relayed = relay.relayed;
    puncher_.add_relay(relay.relayed);
    next_standby_ = {};  // connected: probe it at once, so both sides know it works
    // Relay-only, the peer sends from its relay; else from where its TURN server saw it.
    relay_source_ip_ = through_relay_ ? relay.relayed.ip : relay.mapped.ip;
    if (was) relay_moved(*was);
    return relay_source_ip_;
}

void Connection::relay_moved(Address from) {
    if (peer_ == nullptr || !peer_relayed_ || from_enet(peer_->address) != from) return;
    peer_->address = to_enet(enet_address_of(*peer_relayed_));
    resend_soon(peer_);
    if (state_ != State::connected || peer_address_ == *peer_relayed_) return;
    peer_address_ = *peer_relayed_;
    ++path_changes_;
    emit_path(EventType::path_changed);
}

// A candidate answered for the first time (or again, after reopen()): a path that works both
// ways. Setting up, the first that answers is taken (the relay only after relay_delay, 0 by
// default), and a direct path that opens later is moved to once connected.
void Connection::on_path_open(const Puncher::Candidate& open, TimePoint now) {
    const bool relayed = open.kind == Path::relay;
    switch (state_) {
        case State::punching:
            if (relayed && !link_.relay_only && now - relay_clock() < config_.relay_delay) {
                relay_through_ = open.address;
                return;
            }
            // ENet may still connect over the relay (the handshake follows the first
            // authenticated VERIFY_CONNECT, which may come through it): this path, acknowledged
            // once and so never opening again, is then moved to once connected.
            if (!relayed) upgrade_ = open.address;
            start_connecting(open.address, now);
            return;
        case State::connecting:
            if (!relayed) upgrade_ = open.address;  // moved to once connected
            return;
        case State::connected:
            on_connected_path_open(open, now);
            return;
        default:
            return;
    }
}

// Connected (docs/PATHS.md): the path in use answering ends a suspicion; an address being
// validated is moved to when the peer's traffic left the path in use (or the address is new:
// the peer's NAT rebound); while the path in use is silent, the first that answers wins; and a
// relayed connection moves to a direct path as soon as one answers.
void Connection::on_connected_path_open(const Puncher::Candidate& open, TimePoint now) {
    if (open.address == peer_address_) {
        suspect_ = false;
        last_heard_ = now;
        return;
    }
    if (validating_ && open.address == *validating_) {
        const bool left = validating_new_ || now - last_heard_ >= config_.path_silence / 2;
        validating_.reset();
        if (left) {
            move_to(open, now);
            return;
        }
    }
    if (suspect_ || (path_ == Path::relay && open.kind != Path::relay)) move_to(open, now);
}

void Connection::heard_from(Address from, TimePoint now, bool validate) {
    if (state_ != State::connected) return;
    if (from == peer_address_) {
        last_heard_ = now;
        return;
    }
    if (!validate || (validating_ && *validating_ == from)) return;
    if (validating_since_ != TimePoint{} && now - validating_since_ < kValidateGap) return;
    const bool known = puncher_.knows(from);
    if (!known) puncher_.learn(from, peer_address_);
    if (!puncher_.knows(from)) return;  // the list is full of what must stay
    puncher_.reopen(from);
    validating_ = from;
    validating_new_ = !known;
    validating_since_ = now;
    validate_probes_ = 0;
    next_validate_ = now;
}

void Connection::start_connecting(Address through, TimePoint now) {
    state_ = State::connecting;
    connect_deadline_ = now + config_.connect_timeout;
    connect_via_ = through;
    relay_through_.reset();
    // One initiator (PROTOCOL.md §6 step 5): two simultaneous ENet connects make two peers.
    if (puncher_.role() != protocol::Role::initiator) return;
    if (!early_connect_) {
        pending_connect_ = through;
        return;
    }
    // Connected on the introduction: the CONNECT still unanswered goes this way now.
    if (peer_ != nullptr && peer_->state == ENET_PEER_STATE_CONNECTING) {
        peer_->address = to_enet(enet_address_of(through));
        seed_round_trip(peer_, handshake_rtt());
    }
}

void Connection::handshake_heard(Address from) {
    if (!early_connect_ || peer_ == nullptr || peer_->state != ENET_PEER_STATE_CONNECTING ||
        !is_peer_address(from))
        return;
    peer_->address = to_enet(enet_address_of(from));
    connect_via_ = from;
}

std::size_t Connection::connect_probe(std::span<std::uint8_t> out) {
    // The puncher numbers it as a round of one probe, so the peer answers it like any other.
    struct Catch final : Outbox {
        std::optional<protocol::Probe> probe;
        void send(Address /*to*/, const protocol::Message& m) override {
            if (const auto* p = std::get_if<protocol::Probe>(&m)) probe = *p;
        }
    } caught;
    if (peer_ == nullptr) return 0;
    const Address to = peer_side_of(from_enet(peer_->address));
    if (!carries_connect(to)) return 0;
    puncher_.probe(to, now_, caught);
    if (!caught.probe) return 0;
    caught.probe->connect = link_.handshake_datagram();
    return link_.channel.seal_probe(*caught.probe, out);
}

bool Connection::takes_connect() const {
    return puncher_.active() && puncher_.role() == protocol::Role::responder && setting_up() &&
           peer_ == nullptr;
}

// Sends to another of the peer's paths from now on, with the same ENet peer and keys. The peer
// moves when its own probes tell it to; until then what it sends on the old path is still
// accepted (enet_source). What ENet sent on the old path and is still waiting for an
// acknowledgement goes again at once, at the new path's round trip, instead of after ENet's
// back-off grown during the silence.
void Connection::move_to(const Puncher::Candidate& to, TimePoint now) {
    peer_address_ = to.address;
    path_ = to.kind;
    last_heard_ = now;
    suspect_ = false;
    validating_.reset();
    ++path_changes_;
    if (peer_ != nullptr) {
        peer_->address = to_enet(enet_address_of(to.address));
        connect_via_ = to.address;
        seed_round_trip(peer_, handshake_rtt());
        peer_->nextTimeout = static_cast<enet_uint32>(enet_time_get());
    }
    emit_path(EventType::path_changed);
}

bool Connection::on_enet_connect(ENetPeer* peer, enet_uint32 data, TimePoint now) {
    // Ours: the VERIFY_CONNECT may come before the acknowledgement of a probe that opens a path.
    if (setting_up() && peer == peer_ && peer_ != nullptr) {
        become_connected(now);
        return true;
    }
    // An incoming connection: only the introduced peer, from a candidate address, with our
    // token in its connect data.
    const Address from = peer_side_of(from_enet(peer->address));
    const bool expected = peer_ == nullptr && puncher_.active() &&
                          puncher_.role() == protocol::Role::responder &&
                          data == connect_data(puncher_.token()) && is_peer_address(from);
    if (!expected) return false;
    peer_ = peer;
    become_connected(now);
    return true;
}

void Connection::become_connected(TimePoint now) {
    peer_address_ = peer_side_of(from_enet(peer_->address));
    path_ = puncher_.path_of(peer_address_);
    punch_elapsed_ = std::chrono::duration_cast<Duration>(now - puncher_.started());
    // The puncher goes on: it answers the peer's probes, keeps the relay on standby and finds
    // the next path when this one breaks (keep_path).
    state_ = State::connected;
    last_heard_ = now;
    next_standby_ = now + config_.standby_interval;
    // Config::peer_timeout is ours (update(): from the last datagram heard on the path in use).
    // ENet ends a peer once its oldest unacknowledged datagram is `minimum` old and was re-sent
    // its limit of times, or `maximum` old regardless: both a little later, as a backstop.
    const auto timeout = static_cast<enet_uint32>(config_.peer_timeout.count()) + 1000;
    enet_peer_timeout(peer_, 0, timeout, timeout);
    emit_path(EventType::connected);
    if (path_ == Path::relay && upgrade_) {
        const Puncher::Candidate direct{*upgrade_, puncher_.path_of(*upgrade_), true, true, {}};
        upgrade_.reset();
        move_to(direct, now);
    }
}

void Connection::on_enet_disconnect(enet_uint32 data) {
    const bool was_connected = state_ == State::connected;
    const bool we_left = leaving_;
    const bool goodbye = data == kGoodbye;
    peer_ = nullptr;  // ENet has reset it
    finish();
    if (!was_connected) {
        emit_error(Error::connect_failed,
                   "a probe got through to " + name_ + " but the ENet handshake did not complete");
        return;
    }
    emit_disconnected(we_left   ? Error::none
                      : goodbye ? Error::peer_disconnected
                                : Error::peer_timed_out,
                      we_left   ? "disconnected"
                      : goodbye ? name_ + " left"
                                : "lost the path to " + name_);
}

void Connection::on_enet_receive(const ENetPacket& packet, std::uint8_t channel) {
    if (state_ != State::connected) return;
    Event e = events_.fresh();  // its buffer's capacity kept from an earlier message
    e.type = EventType::received;
    e.connection = id_;
    e.peer = name_;
    e.channel = static_cast<Channel>(channel);
    e.data.assign(packet.data, packet.data + packet.dataLength);
    events_.push_back(std::move(e));
}

// ---- time --------------------------------------------------------------------------------

void Connection::update(TimePoint now, std::uint32_t unauthenticated) {
    using Targets = Puncher::Targets;
    now_ = now;
    if (setting_up())
        puncher_.update(now, config_.probe_interval, *this,
                        link_.relay_only ? Targets::relay_only : Targets::all);
    else if (state_ == State::connected)
        keep_path(now);

    if (state_ == State::connected && !leaving_ && now - last_heard_ >= config_.peer_timeout) {
        // Every path was tried meanwhile (path_silence). ENet's own timeout is a backstop: it
        // fires only at a re-send, up to a doubled re-send interval late.
        finish();
        emit_disconnected(Error::peer_timed_out, "lost the path to " + name_ +
                                                     ": nothing heard for " +
                                                     std::to_string(config_.peer_timeout.count()) +
                                                     " ms (Config::peer_timeout)");
        return;
    }

    if (state_ == State::punching && relay_through_ && now - relay_clock() >= config_.relay_delay) {
        start_connecting(*relay_through_, now);
        return;
    }
    if (state_ == State::punching && now - puncher_.started() >= config_.punch_timeout) {
        // With an identity required, probes that came but never opened mean the other side
        // does not hold the expected identity (or does not require ours).
        const bool impostor = config_.identity_key && config_.peer_identity &&
                              puncher_.probes_received() == 0 &&
                              unauthenticated > unauthenticated_at_intro_;
        std::string detail =
            impostor ? name_ +
                           " answered, but could not prove the identity key expected of it "
                           "(Config::peer_identity)"
                     : "no probe got through to " + name_ + " within " +
                           std::to_string(config_.punch_timeout.count()) + " ms" +
                           relay_.status(peer_relayed_.has_value());
        finish();
        emit_error(impostor ? Error::peer_unauthenticated : Error::punch_failed, std::move(detail));
    } else if (state_ == State::connecting && now >= connect_deadline_) {
        finish();
        emit_error(Error::connect_failed,
                   "a probe got through to " + name_ + " but ENet did not connect in time");
    }
}

// Connected (docs/PATHS.md): the path in use is kept alive by ENet's own traffic (its pings
// every 500 ms when the game is idle). Silent for path_silence, it is suspected: every path is
// probed, and the first that answers is taken (the one in use answering ends the suspicion).
// Otherwise a relayed connection probes its direct paths every upgrade_interval, and one on a
// direct path probes the relay every standby_interval, so the relay is known to work and the
// NAT mappings towards it stay open.
void Connection::keep_path(TimePoint now) {
    using Targets = Puncher::Targets;
    if (!puncher_.active()) return;
    if (validating_ && now >= next_validate_) {
        if (validate_probes_++ < kValidateProbes) {
            puncher_.probe(*validating_, now, *this);
            next_validate_ = now + kValidateInterval;
        } else {
            validating_.reset();  // it never answered: not a path of the peer's
        }
    }
    if (!suspect_ && now - last_heard_ >= config_.path_silence) {
        suspect_ = true;
        puncher_.reopen();
        suspect_interval_ = config_.probe_interval;
        next_suspect_round_ = now;
    }
    const Targets all = link_.relay_only ? Targets::relay_only : Targets::all;
    if (suspect_) {
        if (now < next_suspect_round_) return;
        puncher_.round(now, *this, all);
        next_suspect_round_ = now + suspect_interval_;
        suspect_interval_ = std::min(suspect_interval_ * 2, kMaxSuspectInterval);
        return;
    }
    if (link_.relay_only) return;  // the relay is the only path, and ENet keeps it alive
    if (path_ == Path::relay) {
        puncher_.update(now, config_.upgrade_interval, *this, Targets::no_relay);
    } else if (peer_relayed_ && now >= next_standby_) {
        puncher_.round(now, *this, Targets::relay_only);
        next_standby_ = now + config_.standby_interval;
    }
}

std::optional<Address> Connection::take_enet_connect() {
    if (!pending_connect_ || !setting_up()) return std::nullopt;
    const Address to = enet_address_of(*pending_connect_);
    pending_connect_.reset();
    return to;
}

void Connection::attach(ENetPeer* peer) {
    peer_ = peer;
    link_.connect_id = peer->connectID;  // what ENet's datagrams to the peer carry
    seed_round_trip(peer, handshake_rtt());
    // Connected on the introduction, ENet must not give up while the punch may still take
    // its time: our own deadlines (punch_timeout, then connect_timeout) end the handshake.
    const auto limit =
        static_cast<enet_uint32>((config_.punch_timeout + config_.connect_timeout).count()) + 1000;
    if (early_connect_) enet_peer_timeout(peer, 0, limit, limit);
}

void Connection::enet_refused() {
    finish();
    emit_error(Error::connect_failed, "ENet had no free peer to connect with");
}

// The round trip the probes measured, bounded: never below kMinHandshakeRtt (a loopback RTT of
// 0 ms would make ENet re-send at once) nor above ENet's own 500 ms guess.
enet_uint32 Connection::handshake_rtt() const {
    constexpr Duration kMinHandshakeRtt{30};
    constexpr Duration kMaxHandshakeRtt{500};
    const Duration rtt = std::clamp(puncher_.rtt_of(connect_via_).value_or(Duration{100}),
                                    kMinHandshakeRtt, kMaxHandshakeRtt);
    return static_cast<enet_uint32>(rtt.count());
}

// The responder cannot seed its ENet peer before ENet creates it on the initiator's CONNECT;
// catch it right after, while its VERIFY_CONNECT is still unacknowledged. Then, on both sides,
// keep the handshake's re-sends at a steady pace until it completes.
void Connection::pace_handshake(ENetHost* host) {
    if (!puncher_.active() || host == nullptr) return;
    if (puncher_.role() == protocol::Role::responder && seeded_ == nullptr && peer_ == nullptr) {
        for (ENetPeer* p = host->peers; p < host->peers + host->peerCount; ++p) {
            // Sealed, its CONNECT named it (the link's connectID); plaintext ENet, its address.
            if (p->state == ENET_PEER_STATE_ACKNOWLEDGING_CONNECT &&
                (!link_.connect_id || p->connectID == *link_.connect_id) &&
                is_peer_address(peer_side_of(from_enet(p->address)))) {
                seed_round_trip(p, handshake_rtt());
                seeded_ = p;
                break;
            }
        }
    }
    ENetPeer* handshaking = handshake_peer();
    if (handshaking != nullptr && handshaking->state != ENET_PEER_STATE_CONNECTED)
        cap_resend_timeout(handshaking, 3 * handshake_rtt());
}

void Connection::remind(RendezvousClient& rendezvous, TimePoint now, RawOutbox& out) {
    if (wants_reminder() && rendezvous.remind(name_, now, out)) last_reminder_ = now;
}

void Connection::offer_relay(RendezvousClient& rendezvous, TimePoint now, RawOutbox& out) {
    if (!relay_.allocated()) return;
    if (relay_.allocation() != offered_allocation_) {
        // A new allocation (the first, or one that replaced a lost one): a new relayed address
        // the peer must learn, and only hearing it through this one says it did.
        offered_allocation_ = relay_.allocation();
        heard_via_relay_ = false;
        next_offer_ = {};
    }
    // Connected too: the relay is the standby path (docs/PATHS.md) until the peer was heard
    // through it.
    if (!needs_relay(now) || heard_via_relay_ || now < next_offer_) return;
    // Relay-only, nothing but our relayed address leaves (the server zeroes it too).
    const bool hide = through_relay_ || config_.hide_address;
    rendezvous.send(protocol::RelayOffer{rendezvous.instance(), puncher_.token(), name_,
                                         relay_.relayed(), hide ? Address{} : relay_.mapped()},
                    out);
    next_offer_ = now + kOfferInterval;
}

bool Connection::needs_relay(TimePoint /*now*/) const {
    return setting_up() || state_ == State::connected;
}

void Connection::relay_stopped() {
    peer_relayed_.reset();
    reflexive_.reset();
    link_.reflexive.reset();
    if (!through_relay_) link_.framer = nullptr;
    relay_source_ip_ = 0;
    heard_via_relay_ = false;
    next_offer_ = {};
    offered_allocation_ = 0;
    relay_through_.reset();
    upgrade_.reset();
}

// ---- the game's calls ----------------------------------------------------------------------

bool Connection::goodbye() {
    if (state_ != State::connected || peer_ == nullptr) return false;
    if (!leaving_) {
        enet_peer_disconnect_later(peer_, kGoodbye);  // after queued data
        const auto enet_timeout =
            static_cast<enet_uint32>((config_.peer_timeout + kGoodbyeBound).count());
        enet_peer_timeout(peer_, 0, enet_timeout, enet_timeout);
    }
    leaving_ = true;
    return true;
}

// The goodbye's clock starts at the first update after goodbye() (the game calls that between
// two updates).
void Connection::linger(TimePoint now) {
    if (!leaving_ || peer_ == nullptr || state_ != State::connected) return;
    if (!goodbye_at_) goodbye_at_ = now;
    const Duration waited = std::chrono::duration_cast<Duration>(now - *goodbye_at_);
    if (waited >= kGoodbyeBound) {
        finish();
        emit_disconnected(Error::none, "disconnected (" + name_ +
                                           " did not acknowledge the goodbye within " +
                                           std::to_string(kGoodbyeBound.count()) + " ms)");
        return;
    }
    if (waited >= kGoodbyeDrain && peer_->state == ENET_PEER_STATE_DISCONNECT_LATER)
        enet_peer_disconnect(peer_, kGoodbye);  // the data had its time; the goodbye goes now
    cap_resend_timeout(peer_, std::clamp<enet_uint32>(2 * peer_->roundTripTime, kGoodbyeResendMinMs,
                                                      kGoodbyeResendMaxMs));
}

// Ended, whatever the reason. The ENet peer, if still ours, is reset (nothing more is sent to
// it); the session then sends what ENet still owes, ends the link's keys and forgets us.
void Connection::finish() {
    if (peer_ != nullptr) {
        enet_peer_reset(peer_);
        peer_ = nullptr;
    }
    puncher_.end();
    first_heard_.reset();
    pending_connect_.reset();
    seeded_ = nullptr;
    state_ = State::closed;
}

// ---- reports -------------------------------------------------------------------------------

Duration Connection::punch_elapsed(TimePoint now) const {
    if (setting_up()) return std::chrono::duration_cast<Duration>(now - puncher_.started());
    return punch_elapsed_;
}

PeerInfo Connection::info(TimePoint now) const {
    PeerInfo p;
    p.id = id_;
    p.name = name_;
    p.state = state_;
    p.path = path_;
    p.address = peer_address_;
    p.punch_elapsed = punch_elapsed(now);
    p.party_member = party_member_;
    p.path_changes = path_changes_;
    if (peer_ != nullptr && state_ == State::connected) {
        p.last_heard = std::chrono::duration_cast<Duration>(now - last_heard_);
        p.queued_bytes = queued_bytes(*peer_);
        p.rtt_ms = peer_->roundTripTime;
        p.packet_loss =
            static_cast<float>(peer_->packetLoss) / static_cast<float>(ENET_PEER_PACKET_LOSS_SCALE);
    }
    return p;
}

void Connection::emit_path(EventType type) {
    Event e;
    e.type = type;
    e.connection = id_;
    e.peer = name_;
    // Through a reflexive relay: where our TURN server sees the peer, not the server itself.
    e.address = reflexive_ && peer_address_ == reflexive_via_ ? *reflexive_ : peer_address_;
    e.path = path_;
    events_.push_back(std::move(e));
}

void Connection::emit_disconnected(Error error, std::string detail) {
    emit_ended(EventType::disconnected, error, std::move(detail));
}

void Connection::emit_error(Error error, std::string detail) {
    emit_ended(EventType::error, error, std::move(detail));
}

void Connection::emit_ended(EventType type, Error error, std::string detail) {
    Event e;
    e.type = type;
    e.error = error;
    e.detail = std::move(detail);
    e.connection = id_;
    e.peer = name_;
    events_.push_back(std::move(e));
}

}  // namespace netcore::detail
