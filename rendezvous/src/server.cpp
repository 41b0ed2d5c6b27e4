// The rendezvous server: protocol logic, timers, and the socket loop.
#include "server.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <variant>

#include "crypto.hpp"  // netcore's libsodium wrappers and the §11 key derivations

namespace rendezvous {

namespace protocol = netcore::protocol;
using netcore::Address;

namespace {

// The most datagrams one poll() reads before it runs the timers and returns, so a flood cannot
// starve the expiry sweep or delay noticing a signal by more than one batch.
constexpr std::size_t kMaxDatagramsPerPoll = 1024;

constexpr std::int64_t kMaxWireMs = std::numeric_limits<std::uint32_t>::max();  // u32 on the wire

// How often expired owned names are dropped: they are ignored as soon as they expire, so this only
// frees their memory and their slot under max_owned_names.
constexpr auto kOwnerSweepInterval = std::chrono::seconds(60);
// The names file is written at most this often (when it changed): a crash loses at most this much
// of new bindings, and a server with many owners online writes it at most every few seconds.
constexpr auto kNamesSaveInterval = std::chrono::seconds(5);
// The longest hold: ten years. Longer is a typo (and near the int64 seconds' range of no use).
constexpr std::int64_t kMaxNameHoldS = 10LL * 365 * 24 * 3600;

constexpr std::uint8_t kOwned = protocol::RegisterFlags::owned;

// What an entry keeps of a Register's flags: who may be introduced to it, and whether it hides.
std::uint8_t entry_flags(const protocol::RegisterRequest& m) {
    return m.flags & (protocol::RegisterFlags::open | protocol::RegisterFlags::hidden);
}

// The entry asked that no peer learn its addresses: its pairs are relay-only (§4.14).
bool hides(const Entry& e) {
    return (e.flags & protocol::RegisterFlags::hidden) != 0;
}

}  // namespace

std::int64_t system_unix_time() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string validate(const Config& c) {
    if (c.refresh.count() < 1) return "--refresh-ms must be at least 1";
    if (c.refresh.count() > kMaxWireMs) return "--refresh-ms must be at most 4294967295";
    if (c.expiry <= c.refresh)
        return "--expiry-ms (" + std::to_string(c.expiry.count()) + ") must exceed --refresh-ms (" +
               std::to_string(c.refresh.count()) + ")";
    if (c.expiry.count() > kMaxWireMs) return "--expiry-ms must be at most 4294967295";
    if (c.max_names < 1) return "--max-names must be at least 1";
    if (c.max_names > Registry::kMaxNames) return "--max-names must be at most 16777215";
    if (c.intro_ttl.count() < 1) return "the introduction time-to-live must be positive";
    if (c.sweep_interval.count() < 1) return "the sweep interval must be positive";
    if (c.max_introductions < 1) return "--max-introductions must be at least 1";
    if (c.cookie_window.count() < 1) return "the cookie window must be positive";
    if (!(c.limits.rate > 0)) return "--rate must be positive";
    if (!(c.limits.burst >= 1)) return "--burst must be at least 1";
    if (!(c.limits.answer_rate > 0)) return "--answer-rate must be positive";
    if (!(c.limits.answer_burst >= 1)) return "--answer-burst must be at least 1";
    if (c.limits.max_sources < 1) return "--max-sources must be at least 1";
    if (c.name_hold.count() < 1 || c.name_hold.count() > kMaxNameHoldS)
        return "--name-hold must be between 1 and " + std::to_string(kMaxNameHoldS) + " seconds";
    if (c.max_owned_names < 1) return "--max-owned-names must be at least 1";
    if (!c.unix_clock) return "owned names need a clock";
    if (c.max_introductions_per_ip < 1) return "--max-introductions-per-ip must be at least 1";
    if (c.request_ttl.count() < 1) return "--request-ttl-ms must be at least 1";
    if (c.request_notify_interval.count() < 1)
        return "the IntroductionAsked interval must be positive";
    if (c.requests.per_ip < 1) return "--max-requests-per-ip must be at least 1";
    if (c.requests.per_name < 1) return "--max-requests-per-name must be at least 1";
    if (c.requests.total < 1) return "--max-requests must be at least 1";
    if (!(c.grants.ip_rate > 0)) return "--grant-rate must be positive";
    if (!(c.grants.ip_burst >= 1)) return "--grant-burst must be at least 1";
    if (!(c.grants.name_rate > 0)) return "--name-grant-rate must be positive";
    if (!(c.grants.name_burst >= 1)) return "--name-grant-burst must be at least 1";
    if (c.grants.max_keys < 1 || c.grants.max_records < 1)
        return "the relay grant tables must hold at least one entry";
    if (c.parties.max_members < 2 || c.parties.max_members > protocol::kMaxPartyMembers)
        return "--max-party-members must be between 2 and " +
               std::to_string(protocol::kMaxPartyMembers);
    if (c.parties.max_parties < 1) return "--max-parties must be at least 1";
    if (c.parties.max_per_ip < 1) return "--max-parties-per-ip must be at least 1";
    if (c.parties.max_asks < 1) return "--max-party-asks must be at least 1";
    if (c.parties.max_admitted < 1) return "the admitted list of a party must hold one entry";
    // Clients refresh their membership every second (Config::party_refresh): a shorter time would
    // drop members that lost one refresh.
    if (c.party_ttl.count() < 2000) return "--party-ttl-ms must be at least 2000";
    if (c.party_ttl.count() > kMaxWireMs) return "--party-ttl-ms must be at most 4294967295";
    if (c.relay_offer_window < c.intro_ttl)
        return "the relay offer window must be at least the introduction time-to-live";
    return validate(c.turn);
}

std::string validate(const TurnConfig& t) {
    if (t.servers.size() > protocol::kMaxRelayServers)
        return "--turn-server: at most " + std::to_string(protocol::kMaxRelayServers) +
               " (an Introduction carries no more)";
    for (const auto& a : t.servers) {
        if (a.ip == 0 || a.port == 0)
            return "--turn-server: " + a.to_string() + " is not an address clients can reach";
    }
    if (!t.servers.empty() && t.secret.empty())
        return "--turn-server needs --turn-secret-file (the TURN server's static-auth-secret)";
    if (t.servers.empty() && !t.secret.empty()) return "--turn-secret-file needs --turn-server";
    if (t.ttl.count() < 1 || t.ttl > kMaxTurnTtl)
        return "--turn-ttl must be between 1 and " + std::to_string(kMaxTurnTtl.count()) +
               " seconds";
    if (!t.unix_clock) return "the TURN credentials need a clock";
    return {};
}

Server::Server(Config config, Log log)
    : config_(config),
      log_(std::move(log)),
      registry_(config.expiry, config.max_names),
      introductions_(config.intro_ttl, config.relay_offer_window),
      owners_(config.name_hold, config.max_owned_names),
      requests_(config.request_ttl, config.requests),
      parties_(config.parties),
      cookies_(config.cookie_window),
      limiter_(config.limits),
      relay_grants_(config.grants) {
    if (!config_.turn.servers.empty()) turn_.emplace(config_.turn.secret);
    netcore::crypto::init();
    if (config_.secret_key) {
        secret_key_ = *config_.secret_key;
        public_key_ = netcore::crypto::public_key_of(secret_key_);
    } else {
        const auto pair = netcore::crypto::generate_key_pair();
        secret_key_ = pair.secret_key;
        public_key_ = pair.public_key;
    }
    config_.secret_key.reset();  // kept once, in secret_key_
    if (!config_.names_file.empty()) {
        names_error_ = owners_.load(config_.names_file, config_.unix_clock());
        if (names_error_.empty())
            log_.info("loaded ", owners_.size(), " owned names from ", config_.names_file);
    }
    netcore::crypto::random_bytes(salt_);
    // Counters start from the clock (milliseconds << 20): a later run's are above an earlier
    // run's, so a client's replay window outlives a restart (PROTOCOL.md §11.2). A million
    // signals a millisecond would be needed to catch up with the clock.
    sealed_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count())
              << 20;
}

// ---- protocol logic ----------------------------------------------------------------------------

void Server::handle(std::span<const std::uint8_t> datagram, Address from, TimePoint now,
                    Outbox& out) {
    ++counters_.packets_in;
    counters_.bytes_in += datagram.size();
    // Before decoding, so a flood costs one hash lookup a datagram. By IP: ports are free.
    if (!limiter_.admit(from.ip, now)) {
        ++counters_.rate_limited;
        return;
    }

    if (stun::looks_like_stun(datagram)) {  // never our magic: see stun_binding.hpp
        const std::size_t first = out.size();
        on_stun(datagram, from, out);
        // A Binding response is up to 1.6x its request and goes to a source nobody proved: it
        // is capped per IP like every answer larger than its request (coturn does the same).
        if (out.size() > first && !limiter_.admit_answer(from.ip, now)) {
            ++counters_.answers_limited;
            out.truncate(first);
        }
        return;
    }
    protocol::Envelope envelope;
    const auto err = protocol::decode_envelope(datagram, envelope);
    const std::size_t first = out.size();
    proven_ = false;
    notice_.reset();
    now_ = now;
    if (err == protocol::DecodeError::bad_version &&
        protocol::wire_version(datagram) < protocol::kVersion &&
        datagram.size() >= protocol::kVersionRefusedSize) {
        // An older client: tell it, in 8 bytes (every version-1 request is 14 or more), so it
        // can say "upgrade needed" instead of timing out. Anything shorter is no request of any
        // version: dropped below, not answered with more than it sent.
        ++counters_.version_refused;
        std::array<std::uint8_t, protocol::kVersionRefusedSize> refusal{};
        if (protocol::encode_version_refused(refusal) > 0) out.push_bytes(from, refusal);
        limit_answers(datagram.size(), first, from, now, out);
        return;
    }
    if (err != protocol::DecodeError::ok) {
        // Never answered: a reply to a forged source would make us a reflector.
        counters_.count_drop(err);
        log_.debug("dropped ", datagram.size(), " bytes from ", from, ": ",
                   protocol::to_string(err));
        return;
    }
    switch (envelope.type) {
        case protocol::EnvelopeType::hello:
            on_hello(from, now, out);
            break;
        case protocol::EnvelopeType::client_sealed:
            on_sealed(envelope, from, now, out);
            break;
        default:
            ++counters_.unexpected;
            log_.debug("dropped unexpected ", protocol::to_string(envelope.type), " from ", from);
            break;
    }
    limit_answers(datagram.size(), first, from, now, out);
    if (notice_) {
        // To the asked side, a registered holder that proved its address; at most one per new
        // request and one every request_notify_interval after, each smaller than the request.
        ++counters_.introductions_asked;
        reply(out, notice_->to, notice_->key, protocol::IntroductionAsked{notice_->asker});
        notice_.reset();
    }
}

void Server::on_hello(Address from, TimePoint now, Outbox& out) {
    log_.debug("hello from ", from);
    challenge(from, now, out);
}

// A Challenge: our key, this run's salt and a cookie for `from`. In clear and no larger than
// the Hello (or sealed Register) it answers, so it amplifies nothing (§9).
void Server::challenge(Address from, TimePoint now, Outbox& out) {
    ++counters_.challenged;
    std::array<std::uint8_t, protocol::kChallengeSize> c{};
    if (protocol::encode_challenge(public_key_, salt_, cookies_.make(from, now), c) > 0)
        out.push_bytes(from, c);
}

// A client's sealed signal (PROTOCOL.md §11.2). The common case first: the name held at this
// address opens it with the key kept in its entry (one AEAD, no X25519). Otherwise the source
// must prove its address with a cookie before the server spends an X25519 on it.
void Server::on_sealed(const protocol::Envelope& envelope, Address from, TimePoint now,
                       Outbox& out) {
    namespace crypto = netcore::crypto;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> plain{};
    Sender sender{from, {}, envelope.counter};
    std::ptrdiff_t n = -1;
    const Entry* held = registry_.find_at(from, now);
    if (held != nullptr) {
        n = crypto::open(held->keys.signal_key, crypto::kFromClient, envelope.counter, envelope.ad,
                         envelope.box, plain);
        if (n >= 0 && envelope.counter <= held->received) {
            ++counters_.replayed;  // opened, so it is the holder's, but we saw it already
            log_.debug("dropped a replayed signal from ", from);
            return;
        }
        if (n >= 0) sender.keys = held->keys;
    }
    if (n < 0) {
        if (!cookies_.valid(envelope.cookie, from, now)) {
            if (envelope.cookie != protocol::Cookie{}) ++counters_.bad_cookies;
            log_.debug("challenged ", from);
            challenge(from, now, out);
            return;
        }
        crypto::SymmetricKey shared{};
        if (!crypto::agree(secret_key_, envelope.client_key, shared)) {
            ++counters_.unauthenticated;
            return;
        }
        sender.keys.client_key = envelope.client_key;
        sender.keys.signal_key =
            crypto::signal_key(shared, envelope.client_key, public_key_, salt_);
        n = crypto::open(sender.keys.signal_key, crypto::kFromClient, envelope.counter, envelope.ad,
                         envelope.box, plain);
        if (n < 0) {
            ++counters_.unauthenticated;
            log_.debug("dropped a signal from ", from, " that did not open");
            return;
        }
    }
    proven_ = true;  // it opened: its sender holds the key, and the address is proved
    protocol::Message msg;
    const auto err = protocol::decode_inner({plain.data(), static_cast<std::size_t>(n)}, msg);
    if (err != protocol::DecodeError::ok) {
        counters_.count_drop(err);
        log_.debug("dropped a malformed signal from ", from, ": ", protocol::to_string(err));
        return;
    }
    if (held != nullptr && crypto::equal(held->keys.signal_key, sender.keys.signal_key))
        registry_.note_received(*held, envelope.counter);
    if (const auto* m = std::get_if<protocol::RegisterRequest>(&msg)) {
        on_register(*m, sender, now, out);
    } else if (const auto* i = std::get_if<protocol::IntroduceRequest>(&msg)) {
        on_introduce(*i, sender, now, out);
    } else if (const auto* u = std::get_if<protocol::Unregister>(&msg)) {
        on_unregister(*u, sender, now, out);
    } else if (const auto* j = std::get_if<protocol::PartyJoin>(&msg)) {
        on_party_join(*j, sender, now, out);
    } else if (const auto* l = std::get_if<protocol::PartyLeave>(&msg)) {
        on_party_leave(*l, sender, now, out);
    } else if (const auto* a = std::get_if<protocol::PartyAdmit>(&msg)) {
        on_party_admit(*a, sender, now, out);
    } else if (const auto* r = std::get_if<protocol::RelayOffer>(&msg)) {
        on_relay_offer(*r, sender, now, out);
    } else if (const auto* w = std::get_if<protocol::RelayRenew>(&msg)) {
        on_relay_renew(*w, sender, now, out);
    } else {
        ++counters_.unexpected;
        log_.debug("dropped unexpected ", protocol::to_string(protocol::type_of(msg)), " from ",
                   from);
    }
}

void Server::limit_answers(std::size_t request_size, std::size_t first, Address from, TimePoint now,
                           Outbox& out) {
    std::size_t answer_size = 0;
    for (std::size_t i = first; i < out.size(); ++i) answer_size += out.datagrams()[i].size;
    if (answer_size <= request_size) return;
    // Only a source that proved its address (a valid cookie now, or a name held at it, which
    // took one) may be answered with more than it sent; and even then at a bounded rate.
    if (!proven_ && registry_.find_at(from, now) == nullptr) {
        ++counters_.amplification_refused;  // a bug if it ever counts: see PROTOCOL.md §9
        log_.error("refused ", answer_size, " bytes of answers to unproven ", from, " for ",
                   request_size);
        out.truncate(first);
        return;
    }
    if (!limiter_.admit_answer(from.ip, now)) {
        ++counters_.answers_limited;
        log_.debug("answer limit: dropped ", answer_size, " bytes to ", from);
        out.truncate(first);
    }
}

void Server::on_stun(std::span<const std::uint8_t> datagram, Address from, Outbox& out) {
    stun::BindingRequest request;
    const auto result = stun::parse(datagram, request);
    switch (result) {
        case stun::Result::binding_request: {
            std::array<std::uint8_t, stun::kMaxResponseSize> response{};
            const auto n = stun::write_binding_response(request, from, response);
            ++counters_.stun_requests;
            if (n == 0 || !out.push_bytes(from, {response.data(), n}))
                log_.error("cannot queue a STUN response for ", from);  // a bug, not bad input
            return;
        }
        case stun::Result::not_binding_request:
        case stun::Result::change_request:
        case stun::Result::not_stun:  // unreachable: looks_like_stun() held
            ++counters_.stun_ignored;
            break;
        case stun::Result::bad_length:
        case stun::Result::bad_attribute:
        case stun::Result::bad_fingerprint:
            // Never answered, like our own malformed datagrams.
            ++counters_.stun_malformed;
            break;
        case stun::Result::too_large:
            ++counters_.stun_oversized;  // not parsed at all: see stun::kMaxRequestSize
            break;
    }
    log_.debug("dropped STUN from ", from, ": ", stun::to_string(result));
}

void Server::on_register(const protocol::RegisterRequest& request, const Sender& s, TimePoint now,
                         Outbox& out) {
    const Address from = s.from;
    // Only LAN addresses are kept as LAN candidates: a peer probes them, so any other address
    // would let a client aim its peers' probes at a victim (issue 11, "No reflection").
    protocol::RegisterRequest m = request;
    m.lan = {};
    for (const Address a : request.lan.view()) {
        if (netcore::lan_candidate(a)) {
            m.lan.push(a);
        } else {
            ++counters_.lan_dropped;
        }
    }
    const protocol::RegisterAck ack{m.instance, from,
                                    static_cast<std::uint32_t>(config_.refresh.count()),
                                    static_cast<std::uint32_t>(config_.expiry.count())};
    // The common case, made cheap: a refresh from the entry's own address, instance and key.
    // It changes exactly what add() would for a refresh: the expiry and the LAN list.
    // An owned entry's run proved its key when it registered (its signals open under the key
    // that proof named): its refreshes only move the binding's last-seen, coarsely (owners.hpp).
    if (const Entry* e = registry_.find_at(from, now);
        e != nullptr && e->instance == m.instance && e->name == m.name &&
        netcore::crypto::equal(e->keys.signal_key, s.keys.signal_key) &&
        (e->flags & kOwned) == (m.flags & kOwned) &&
        ((m.flags & kOwned) == 0 || owners_.touch(m.name, m.owner, config_.unix_clock()))) {
        registry_.refresh(*e, m.lan, now, entry_flags(m) | (e->flags & kOwned));
        ++counters_.refreshed;
        ++counters_.refreshed_fast;
        log_.debug("refreshed ", m.name, " at ", from);
        reply(out, from, s.keys.signal_key, ack);
        return;
    }
    // A Register under the key of its name's entry, but no newer than the last signal that
    // entry sealed, is a replay: from the address the name left, say, whose cookie is still
    // valid. The fast path's check in on_sealed() only covers the entry's own address.
    if (const Entry* e = registry_.find(m.name, now);
        e != nullptr && netcore::crypto::equal(e->keys.signal_key, s.keys.signal_key) &&
        s.counter <= e->received) {
        ++counters_.replayed;
        log_.debug("dropped a replayed Register for ", m.name, " from ", from);
        return;
    }
    // Owned names (PROTOCOL.md §4.13): the proof first, then the binding decides who may hold the
    // name, before the registry's first-come rule.
    const std::int64_t unix_now = config_.unix_clock();
    const bool owned = (m.flags & kOwned) != 0;
    if (owned) {
        std::array<std::uint8_t, protocol::kOwnerStatementMax> statement{};
        const std::size_t n =
            protocol::owner_statement(public_key_, salt_, s.keys.client_key, m.name, statement);
        if (n == 0 || !netcore::crypto::verify(m.owner, std::span(statement).first(n), m.proof)) {
            // Answered, not dropped: the sender proved its address and its key, and the answer
            // is smaller than its request. A proof made for another connection lands here.
            ++counters_.owner_proofs_invalid;
            ++counters_.name_owned;
            log_.info("refused ", m.name, " from ", from, ": the owner proof does not verify");
            reply(out, from, s.keys.signal_key,
                  protocol::RegisterError{m.instance, protocol::RegisterErrorCode::name_owned});
            return;
        }
    }
    const Binding* bound = binding(m.name, now, unix_now);
    if (bound != nullptr && (!owned || bound->key != m.owner)) {
        ++counters_.name_owned;
        log_.info("name owned: ", m.name, " refused to ", from,
                  owned ? " (another owner key)" : " (no owner key)");
        reply(out, from, s.keys.signal_key,
              protocol::RegisterError{m.instance, protocol::RegisterErrorCode::name_owned});
        return;
    }
    if (owned && !owners_.can_bind(m.name)) {
        ++counters_.server_full;
        log_.warn("owned names full: refused ", m.name, " from ", from);
        reply(out, from, s.keys.signal_key,
              protocol::RegisterError{m.instance, protocol::RegisterErrorCode::server_full});
        return;
    }
    if (bound != nullptr) {
        // The owner proved its key under another run (a game that crashed and restarted, or
        // moved to another machine): the run still in the table is taken off at once, rather
        // than name_taken until it expires.
        if (const Entry* e = registry_.find(m.name, now);
            e != nullptr &&
            (e->instance != m.instance || e->keys.client_key != s.keys.client_key)) {
            const Address old = e->address;
            registry_.remove(m.name);  // `e` dies here
            introductions_.forget(m.name);
            ++counters_.released;
            ++counters_.reclaimed;
            log_.info("released ", m.name, " at ", old, ": its owner registered again at ", from);
        }
    }

    const AddOutcome r =
        registry_.add(m.name, m.instance, from, m.lan, now, s.keys, s.counter,
                      static_cast<std::uint8_t>(entry_flags(m) | (owned ? kOwned : 0)));
    if (owned && (r.admission == Admission::registered || r.admission == Admission::moved ||
                  r.admission == Admission::refreshed)) {
        if (bound == nullptr) log_.info("bound ", m.name, " to its owner key");
        owners_.bind(m.name, m.owner, unix_now);  // can_bind() held: never refused
    }

    if (r.replaced_expired) {
        ++counters_.expired;
        forget(m.name, now, out);
        log_.info("expired ", m.name);
    }
    if (r.released) {
        ++counters_.released;
        forget(*r.released, now, out);
        if (r.release_reason == Release::renamed) {
            log_.info("released ", *r.released, ": renamed to ", m.name, " at ", from);
        } else {
            log_.info("released ", *r.released, ": new instance at ", from);
        }
    }

    switch (r.admission) {
        case Admission::registered:
            ++counters_.registered;
            // A new holder must not inherit the old one's token, consent nor party.
            forget(m.name, now, out);
            log_.info("registered ", m.name, " at ", from);
            reply(out, from, s.keys.signal_key, ack);
            break;
        case Admission::moved:
            // The peer of a pending introduction would probe the old address: start over. The
            // party stays: the same run moved (a NAT rebinding), and its peers' sessions follow it.
            ++counters_.registered;
            forget_pairs(m.name);
            log_.info("registered ", m.name, " at ", from, " (moved from ", r.other, ")");
            reply(out, from, s.keys.signal_key, ack);
            break;
        case Admission::refreshed:
            ++counters_.refreshed;
            log_.debug("refreshed ", m.name, " at ", from);
            reply(out, from, s.keys.signal_key, ack);
            break;
        case Admission::name_taken:
            ++counters_.name_taken;
            log_.info("name taken: ", m.name, " (held by ", r.other, ")");
            reply(out, from, s.keys.signal_key,
                  protocol::RegisterError{m.instance, protocol::RegisterErrorCode::name_taken});
            break;
        case Admission::server_full:
            ++counters_.server_full;
            log_.warn("server full: refused ", m.name, " from ", from);
            reply(out, from, s.keys.signal_key,
                  protocol::RegisterError{m.instance, protocol::RegisterErrorCode::server_full});
            break;
    }
}

// True when `e` is the name `s` holds: its address, its instance and its key.
static bool holds(const Entry* e, std::uint64_t instance, const ClientKeys& keys) {
    return e != nullptr && e->instance == instance &&
           netcore::crypto::equal(e->keys.signal_key, keys.signal_key);
}

void Server::on_introduce(const protocol::IntroduceRequest& m, const Sender& s, TimePoint now,
                          Outbox& out) {
    const Address from = s.from;
    const Entry* self = registry_.find_at(from, now);
    if (!holds(self, m.instance, s.keys)) {
        ++counters_.not_registered;
        log_.info("not registered: ", from, " asked for ", m.peer);
        reply(out, from, s.keys.signal_key,
              protocol::RegisterError{m.instance, protocol::RegisterErrorCode::not_registered});
        return;
    }
    const Entry* peer = m.peer == self->name ? nullptr : registry_.find(m.peer, now);
    if (peer == nullptr) {
        ++counters_.peer_unknown;
        log_.info("unknown peer ", m.peer, " asked by ", self->name);
        reply(out, from, s.keys.signal_key, protocol::PeerUnknown{m.peer});
        return;
    }

    if (const auto pair = party_pair(self->name, peer->name, now)) {
        // Two members of one party consented by joining: the client's reminder gets their
        // introduction again, the same for as long as both stay in (§4.15).
        ++counters_.reintroduced;
        log_.debug("reintroduced ", pair->initiator, " (initiator) <-> ", pair->responder,
                   " in party ", parties_.of(self->name)->name);
        send_introduction(*pair, *self, *peer, out, protocol::IntroductionFlags::party);
        return;
    }
    const Pending* p = introductions_.find(self->name, peer->name, now);
    if (p != nullptr) {
        // A retry, or the peer asked for us first: same token and roles, so one session. The
        // introduction was made with consent, which holds for its intro_ttl.
        ++counters_.reintroduced;
        log_.debug("reintroduced ", p->initiator, " (initiator) <-> ", p->responder);
        send_introduction(*p, *self, *peer, out);
        return;
    }
    // Consent (PROTOCOL.md §4.12): the peer is an open host, or is asking for us too.
    const bool consented = (peer->flags & protocol::RegisterFlags::open) != 0 ||
                           requests_.live(peer->name, self->name, now);
    if (!consented) {
        wait_for_consent(*self, *peer, now, out);
        return;
    }
    if (introductions_.known(self->name, peer->name, now) == nullptr) {
        // Caps before anything is stored. Dropped, not refused: the requester retries in a
        // second, when the sweep made room. (A pair still remembered is let through: its new
        // introduction replaces the old one.) Consent was given, so no presence is revealed.
        if (introductions_.size() >= config_.max_introductions) {
            ++counters_.introductions_full;
            log_.warn("introductions full: dropped ", self->name, " -> ", peer->name);
            return;
        }
        if (introductions_.from_ip(from.ip) >= config_.max_introductions_per_ip) {
            ++counters_.introductions_ip_capped;
            log_.debug("introductions from ", from, " at their cap: dropped ", self->name, " -> ",
                       peer->name);
            return;
        }
    }
    p = &introductions_.add(self->name, peer->name, fresh_token(), now, from.ip);
    requests_.erase_pair(self->name, peer->name);  // answered
    ++counters_.introduced;
    log_.info("introduced ", p->initiator, " (initiator) <-> ", p->responder);
    send_introduction(*p, *self, *peer, out);
}

void Server::wait_for_consent(const Entry& self, const Entry& peer, TimePoint now, Outbox& out) {
    Asked outcome = Asked::stored;
    Request* r = requests_.ask(self.name, peer.name, self.address.ip, now, outcome);
    switch (outcome) {
        case Asked::stored:
            ++counters_.requests_stored;
            log_.info("request ", self.name, " -> ", peer.name, " waits for consent");
            break;
        case Asked::refreshed:
            break;
        case Asked::ip_full:
            ++counters_.requests_ip_capped;
            log_.debug("requests from ", self.address, " at their cap: ", self.name, " -> ",
                       peer.name, " not stored");
            break;
        case Asked::name_full:
            ++counters_.requests_name_capped;
            log_.debug("requests by ", self.name, " at their cap: -> ", peer.name, " not stored");
            break;
        case Asked::full:
            ++counters_.requests_full;
            log_.warn("requests full: ", self.name, " -> ", peer.name, " not stored");
            break;
    }
    if (r != nullptr &&
        (outcome == Asked::stored || now - r->last_notified >= config_.request_notify_interval)) {
        r->last_notified = now;
        notice_ = Notice{peer.address, peer.keys.signal_key, self.name.str()};
    }
    // Whatever happened, the asker gets exactly the answer an unknown name gets: stored or not,
    // present or not, nothing tells it apart (so a cap is no presence oracle either).
    reply(out, self.address, self.keys.signal_key, protocol::PeerUnknown{peer.name});
}

void Server::forget_pairs(std::string_view name) {
    introductions_.forget(name);
    requests_.forget(name);
}

void Server::forget(std::string_view name, TimePoint now, Outbox& out) {
    forget_pairs(name);
    parties_.drop_ask(name);
    if (const auto d = parties_.leave(name)) {
        ++counters_.party_released;
        departed(*d, "dropped from", ", its name is gone", now, out);
    }
}

void Server::send_introduction(const Pending& p, const Entry& a, const Entry& b, Outbox& out,
                               std::uint8_t flags, Charge charge) {
    const GrantRecord* g = turn_ ? grant(p, a, b, now_, charge) : nullptr;
    const bool relay_only = hides(a) || hides(b);
    const auto tell = [&](const Entry& to, const Entry& about) {
        const auto role =
            to.name == p.initiator ? protocol::Role::initiator : protocol::Role::responder;
        protocol::Introduction m{
            p.token, role, about.name, about.address, about.lan, {}, about.keys.client_key, flags};
        if (relay_only) {
            // Either side hides its addresses (PROTOCOL.md §4.14): neither learns the other's;
            // both relay, each through its own allocation.
            m.peer_public = {};
            m.peer_lan = {};
            m.flags |= protocol::IntroductionFlags::relay_only;
        }
        TurnCredential credential;  // viewed by m.relay until it is encoded below
        const std::int64_t expires = g == nullptr              ? 0
                                     : to.name == g->initiator ? g->initiator_expiry
                                                               : g->responder_expiry;
        if (expires != 0) {
            // Each side's own name and the pair: the TURN server's logs and quotas then tell the
            // players and their introductions apart.
            credential = this->credential(to.name.view(), *g, expires);
            fill(m.relay, credential);
        }
        reply(out, to.address, to.keys.signal_key, m);
        // The peer's standing relay, right behind: a side granted a relay can send through it at
        // once, without the RelayOffer round trip (§4.11). Only to a side of an introduction the
        // server makes, as every PeerRelay; a pair that hides learns no mapped address (as in
        // on_relay_offer).
        if (m.relay.count == 0) return;
        if (const StandingRelay* r = standing_offer(about)) {
            ++counters_.standing_relays_forwarded;
            log_.debug("forwarded the standing relay of ", about.name, " to ", to.name);
            reply(out, to.address, to.keys.signal_key,
                  protocol::PeerRelay{p.token, r->relayed, relay_only ? Address{} : r->mapped});
        }
    };
    tell(a, b);  // the requester first
    tell(b, a);
}

const GrantRecord* Server::grant(const Pending& p, const Entry& a, const Entry& b, TimePoint now,
                                 Charge charge) {
    // A re-sent introduction repeats its grants: the same credentials, neither counted nor
    // limited again (a retry must not cost the players their grants).
    if (GrantRecord* r = relay_grants_.find(p.initiator, p.responder, now);
        r != nullptr && r->token == p.token)
        return r;
    GrantRecord* r = relay_grants_.add(p.initiator, p.responder, p.token, now);
    if (r == nullptr) {
        counters_.relay_grants_refused += 2;
        log_.warn("relay grants full: no relay for ", p.initiator, " <-> ", p.responder);
        return nullptr;
    }
    const std::int64_t expires = config_.turn.unix_clock() + config_.turn.ttl.count();
    for (const Entry* side : {&a, &b}) {
        std::int64_t& expiry =
            side->name == p.initiator ? r->initiator_expiry : r->responder_expiry;
        const bool granted = charge == Charge::paid ||
                             (charge == Charge::each_side &&
                              relay_grants_.admit(side->address.ip, side->name.view(), now));
        if (granted) {
            expiry = expires;
            r->until = now + config_.turn.ttl;
            ++counters_.relay_grants;
        } else {
            ++counters_.relay_grants_refused;
            if (charge == Charge::each_side)  // a refused party join is logged once, by its join
                log_.info("relay grant limit: no relay for ", side->name, " at ", side->address);
        }
    }
    return r;
}

TurnCredential Server::credential(std::string_view name, const GrantRecord& r,
                                  std::int64_t expires) const {
    std::string user(name);
    user += '.';
    user += r.pair_id;
    return turn_->make(user, expires);
}

void Server::on_relay_renew(const protocol::RelayRenew& m, const Sender& s, TimePoint now,
                            Outbox& out) {
    // The same proof as a RelayOffer: the exact address that holds a name under this instance
    // and key; then a grant record of an introduction between that name and `peer`, with its
    // token. Anything else is dropped unanswered and counted.
    const Address from = s.from;
    const Entry* self = registry_.find_at(from, now);
    if (!holds(self, m.instance, s.keys)) {
        ++counters_.relay_renewals_not_registered;
        log_.debug("dropped RelayRenew from ", from, ": not registered");
        return;
    }
    if (m.token == 0) {
        on_standing_renew(m, *self, s, now, out);
        return;
    }
    GrantRecord* r = turn_ && m.peer != self->name
                         ? relay_grants_.find(self->name.view(), m.peer, now)
                         : nullptr;
    std::int64_t* expiry = r == nullptr                 ? nullptr
                           : self->name == r->initiator ? &r->initiator_expiry
                                                        : &r->responder_expiry;
    if (expiry == nullptr || *expiry == 0) {  // no pair, or this side was never granted a relay
        ++counters_.relay_renewals_unknown_introduction;
        log_.debug("dropped RelayRenew ", self->name, " -> ", m.peer, ": no grant");
        return;
    }
    if (r->token != m.token) {
        ++counters_.relay_renewals_token_mismatch;
        log_.debug("dropped RelayRenew ", self->name, " -> ", m.peer, ": another token");
        return;
    }
    if (!relay_grants_.admit(from.ip, self->name.view(), now)) {
        ++counters_.relay_grants_refused;
        log_.info("relay grant limit: no renewal for ", self->name, " at ", from);
        return;
    }
    *expiry = config_.turn.unix_clock() + config_.turn.ttl.count();
    r->until = now + config_.turn.ttl;
    ++counters_.relay_renewals;
    log_.debug("renewed the relay grant of ", self->name, " -> ", m.peer);
    const TurnCredential credential = this->credential(self->name.view(), *r, *expiry);
    protocol::RelayCredentials answer{m.token, {}};
    fill(answer.relay, credential);
    reply(out, from, s.keys.signal_key, answer);
}

void Server::fill(protocol::RelayGrant& grant, const TurnCredential& credential) const {
    const auto& servers = config_.turn.servers;
    std::copy(servers.begin(), servers.end(), grant.servers.begin());
    grant.count = static_cast<std::uint8_t>(servers.size());
    grant.username = credential.username;
    grant.password = credential.password;
}

// ---- standing relays (token 0, PROTOCOL.md §4.11) ----------------------------------------------

void Server::on_standing_renew(const protocol::RelayRenew& m, const Entry& self, const Sender& s,
                               TimePoint now, Outbox& out) {
    // Only for the sender's own registration: a standing credential names the player alone, and
    // no other name may be asked for (nor any pair: those have tokens).
    if (m.peer != self.name) {
        ++counters_.relay_renewals_unknown_introduction;
        log_.debug("dropped RelayRenew ", self.name, " -> ", m.peer, ": token 0 names another");
        return;
    }
    if (!turn_ || !config_.turn.standing) {
        ++counters_.relay_renewals_no_turn;
        log_.debug("dropped a standing RelayRenew from ", self.name,
                   turn_ ? ": standing relays are off" : ": no TURN configured");
        return;
    }
    // The same buckets as every grant: a standing relay is one more grant, renewed at half life.
    if (!relay_grants_.admit(s.from.ip, self.name.view(), now)) {
        ++counters_.relay_grants_refused;
        log_.info("relay grant limit: no standing relay for ", self.name, " at ", s.from);
        return;
    }
    const std::int64_t expires = config_.turn.unix_clock() + config_.turn.ttl.count();
    const bool renewal = self.standing != nullptr;
    registry_.grant_standing(self, expires);
    ++counters_.standing_grants;
    log_.debug(renewal ? "renewed the standing relay grant of " : "granted a standing relay to ",
               self.name);
    // "<expiry>:<name>", no pair id: coturn's user-quota counts it under the name alone.
    const TurnCredential credential = turn_->make(self.name.view(), expires);
    protocol::RelayCredentials answer{0, {}};
    fill(answer.relay, credential);
    reply(out, s.from, s.keys.signal_key, answer);
}

void Server::on_standing_offer(const protocol::RelayOffer& m, const Entry& self) {
    if (m.peer != self.name) {
        ++counters_.relay_offers_unknown_introduction;
        log_.debug("dropped RelayOffer ", self.name, " -> ", m.peer, ": token 0 names another");
        return;
    }
    // Only an allocation made under a standing credential of this run, still valid: a relayed
    // address nobody granted is never handed out.
    if (self.standing == nullptr || self.standing->expiry <= config_.turn.unix_clock()) {
        ++counters_.relay_offers_no_standing_grant;
        log_.debug("dropped a standing RelayOffer from ", self.name, ": no standing grant");
        return;
    }
    const bool changed = !self.standing->offered || self.standing->relayed != m.relayed ||
                         self.standing->mapped != m.mapped;
    registry_.offer_standing(self, m.relayed, m.mapped);
    ++counters_.standing_offers_stored;
    if (changed) log_.debug("stored the standing relay of ", self.name, ": ", m.relayed);
}

const StandingRelay* Server::standing_offer(const Entry& e) const {
    // Withdrawn by not renewing: a credential that expired is an allocation its holder may no
    // longer make again, and one it stopped caring for.
    const StandingRelay* r = e.standing.get();
    if (r == nullptr || !r->offered || !turn_ || r->expiry <= config_.turn.unix_clock())
        return nullptr;
    return r;
}

void Server::on_relay_offer(const protocol::RelayOffer& m, const Sender& s, TimePoint now,
                            Outbox& out) {
    // The same proof as an IntroduceRequest: the exact address that holds a name under this
    // instance and key (PROTOCOL.md §9). Nothing is ever answered to the sender.
    const Address from = s.from;
    const Entry* self = registry_.find_at(from, now);
    if (!holds(self, m.instance, s.keys)) {
        ++counters_.relay_offers_not_registered;
        log_.debug("dropped RelayOffer from ", from, ": not registered");
        return;
    }
    if (m.token == 0) {
        on_standing_offer(m, *self);
        return;
    }
    // Only to the other side of an introduction the server made, still remembered, and with its
    // token: never to an address the offer names, nor to anyone the sender merely knows the name
    // of.
    const Entry* peer = registry_.find(m.peer, now);
    // Two members of one party are introduced for as long as both stay in (§4.15); a pair may
    // also hold an introduction of its own (it asked by name): the offer's token says which.
    const std::optional<Pending> party =
        peer == nullptr ? std::nullopt : party_pair(self->name, peer->name, now);
    const Pending* p = party && party->token == m.token ? &*party
                       : peer == nullptr                ? nullptr
                                         : introductions_.known(self->name, peer->name, now);
    if (p == nullptr && party) p = &*party;  // counted below as another token
    // Past relay_offer_window, a relayed session whose allocation was made anew (its TURN
    // server restarted) offers its new relayed address: the pair's grant record, kept while
    // either side renews its credential (RelayRenew), stands for the introduction (§4.11).
    const GrantRecord* grant = p == nullptr && peer != nullptr && turn_
                                   ? relay_grants_.find(self->name.view(), peer->name.view(), now)
                                   : nullptr;
    if (p == nullptr && grant == nullptr) {
        ++counters_.relay_offers_unknown_introduction;
        log_.debug("dropped RelayOffer ", self->name, " -> ", m.peer, ": no introduction");
        return;
    }
    if ((p != nullptr ? p->token : grant->token) != m.token) {
        ++counters_.relay_offers_token_mismatch;
        log_.debug("dropped RelayOffer ", self->name, " -> ", m.peer, ": another token");
        return;
    }
    if (p == nullptr) ++counters_.relay_offers_granted;
    // Re-sent every 250 ms by each side until the peer is heard through the relay: no state here,
    // and logged only at debug. PeerRelay (26 bytes) is smaller than any RelayOffer (36 or more).
    ++counters_.relay_offers_forwarded;
    log_.debug("forwarded RelayOffer ", self->name, " -> ", peer->name);
    // A pair that hides addresses (either side's Register said so) learns only relayed ones: the
    // address the sender's TURN server saw is dropped, whatever the offer says.
    const Address mapped = hides(*self) || hides(*peer) ? Address{} : m.mapped;
    reply(out, peer->address, peer->keys.signal_key,
          protocol::PeerRelay{m.token, m.relayed, mapped});
}

// ---- parties (PROTOCOL.md §4.15) ---------------------------------------------------------------

void Server::refuse(Outbox& out, Address to, const std::array<std::uint8_t, 32>& key,
                    std::string_view party, protocol::PartyRefusedCode code) {
    ++counters_.party_refused[static_cast<std::size_t>(code)];
    reply(out, to, key, protocol::PartyRefused{party, code});
}

void Server::on_party_join(const protocol::PartyJoin& m, const Sender& s, TimePoint now,
                           Outbox& out) {
    using Code = protocol::PartyRefusedCode;
    const Address from = s.from;
    const Entry* self = registry_.find_at(from, now);
    if (!holds(self, m.instance, s.keys)) {
        // Smaller than the PartyJoin (33 + party bytes against 92 + party bytes): the client
        // registers again, as after RegisterError not_registered.
        log_.info("not registered: ", from, " asked to join party ", m.party);
        refuse(out, from, s.keys.signal_key, m.party, Code::not_registered);
        return;
    }
    if (Party* mine = parties_.of(self->name)) {
        if (mine->name != m.party) {
            log_.debug(self->name, " asked to join party ", m.party, " while in party ",
                       mine->name);
            refuse(out, from, s.keys.signal_key, m.party, Code::other_party);
            return;
        }
        // A member's refresh: it is still in. Its list is answered only when it differs, so a
        // party at rest costs one PartyJoin a second per member and nothing back.
        parties_.heard(*mine->member(self->name), now);
        if (m.epoch != mine->epoch) {
            log_.debug("party ", mine->name, ": ", self->name, " holds epoch ", m.epoch, ", not ",
                       mine->epoch);
            push_members(*mine, now, out, self);
        }
        return;
    }
    Party* p = parties_.find(m.party);
    if (p == nullptr) {
        Creation created = Creation::created;
        p = parties_.create(m.party, m.flags, self->name, self->keys.client_key, from.ip, now,
                            created);
        if (p == nullptr) {
            if (created == Creation::full) {
                log_.warn("parties full: ", self->name, " cannot create party ", m.party);
            } else {
                log_.info("parties created from the IP of ", from, " at their cap: ", self->name,
                          " cannot create party ", m.party);
            }
            refuse(out, from, s.keys.signal_key, m.party, Code::server_full);
            return;
        }
        ++counters_.parties_created;
        log_.info(self->name, " created party ", p->name,
                  p->admits() ? " (the host admits)" : " (open)");
        push_members(*p, now, out);
        return;
    }
    if (p->members.size() >= config_.parties.max_members) {
        log_.info("party ", p->name, " full: ", self->name, " refused");
        refuse(out, from, s.keys.signal_key, m.party, Code::full);
        return;
    }
    if (p->admits() && !p->is_admitted(self->name, self->keys.client_key)) {
        AskOutcome asked = AskOutcome::stored;
        JoinAsk* a = parties_.ask(*p, self->name, now, config_.request_ttl, asked);
        refuse(out, from, s.keys.signal_key, m.party, Code::waiting);
        if (asked == AskOutcome::full) {
            ++counters_.party_asks_capped;
            log_.debug("party ", p->name, " has its most join asks: ", self->name, " not stored");
            return;
        }
        if (asked == AskOutcome::stored) log_.info(self->name, " asks to join party ", p->name);
        // The host is told when the ask is new, then at most every request_notify_interval
        // while the player keeps asking: a lost one is made good, a host is not flooded.
        if (asked == AskOutcome::stored ||
            now - a->last_notified >= config_.request_notify_interval) {
            a->last_notified = now;
            if (const Entry* host = registry_.find(p->host().name, now)) {
                ++counters_.party_join_asked;
                reply(out, host->address, host->keys.signal_key,
                      protocol::PartyJoinAsked{p->name, self->name});
            }
        }
        return;
    }
    join_party(*p, *self, now, out);
}

void Server::join_party(Party& p, const Entry& self, TimePoint now, Outbox& out) {
    const PartyMember& joined = parties_.join(p, self.name, self.keys.client_key, now);
    ++counters_.party_joins;
    log_.info(self.name, " joined party ", p.name, " (", p.members.size(), " members)");
    // The join pays for its relay grants once, from the joiner's buckets: a party of 16 would
    // spend a name's burst of grants 2.5 times over, and members must not pay for strangers
    // who join and leave (docs/RENDEZVOUS.md, Parties).
    Charge charge = Charge::each_side;
    if (turn_ && p.members.size() > 1) {
        charge = relay_grants_.admit(self.address.ip, self.name.view(), now) ? Charge::paid
                                                                             : Charge::refused;
        if (charge == Charge::refused)
            log_.info("relay grant limit: no relays for ", self.name, " joining party ", p.name);
    }
    for (const PartyMember& m : p.members) {
        if (&m == &joined) continue;
        const Entry* other = registry_.find(m.name, now);
        if (other == nullptr) continue;  // expired, not swept yet: it leaves at the next sweep
        const Pending pair{parties_.token(p, joined, m), self.name.str(), m.name.str(), now,
                           self.address.ip};
        ++counters_.introduced;
        log_.debug("introduced ", self.name, " (initiator) <-> ", m.name, " in party ", p.name);
        send_introduction(pair, self, *other, out, protocol::IntroductionFlags::party, charge);
    }
    push_members(p, now, out);
}

void Server::push_members(const Party& p, TimePoint now, Outbox& out, const Entry* only) {
    protocol::PartyMembers list{p.name.view(), p.epoch, p.flags, {}, 0};
    for (const auto& member : p.members) list.push(member.name.view());
    if (only != nullptr) {
        ++counters_.party_members_sent;
        reply(out, only->address, only->keys.signal_key, list);
        return;
    }
    for (const auto& member : p.members) {
        const Entry* e = registry_.find(member.name, now);
        if (e == nullptr) continue;  // expired, not swept yet
        ++counters_.party_members_sent;
        reply(out, e->address, e->keys.signal_key, list);
    }
}

void Server::departed(const Departure& d, std::string_view verb, std::string_view why,
                      TimePoint now, Outbox& out, bool push) {
    const Party* p = d.party_gone ? nullptr : parties_.find(d.party);
    if (p == nullptr) {
        log_.info(d.player, " ", verb, " party ", d.party, why, " (empty: forgotten)");
        return;
    }
    log_.info(d.player, " ", verb, " party ", d.party, why, " (", p->members.size(), " members)");
    if (d.was_host) log_.info("party ", d.party, ": ", p->host().name, " is the host");
    if (push) push_members(*p, now, out);
}

std::optional<Pending> Server::party_pair(std::string_view a, std::string_view b, TimePoint now) {
    const Party* p = parties_.of(a);
    if (p == nullptr || parties_.of(b) != p) return std::nullopt;
    const PartyMember* x = p->member(a);
    const PartyMember* y = p->member(b);
    // The later joiner is the initiator: the one whose join made the introduction.
    const PartyMember& later = x->serial > y->serial ? *x : *y;
    const PartyMember& earlier = x->serial > y->serial ? *y : *x;
    return Pending{parties_.token(*p, *x, *y), later.name.str(), earlier.name.str(), now, 0};
}

void Server::on_party_leave(const protocol::PartyLeave& m, const Sender& s, TimePoint now,
                            Outbox& out) {
    const Entry* self = registry_.find_at(s.from, now);
    if (!holds(self, m.instance, s.keys)) {
        ++counters_.ignored;
        log_.debug("ignored PartyLeave from ", s.from, ": holds no name under that instance");
        return;
    }
    const std::string name = self->name.str();
    const Party* p = parties_.of(name);
    if (p == nullptr || p->name != m.party) {
        // Leaving a party it only asks to join: the ask is dropped, the host asked no more.
        if (const Party* asked = parties_.find(m.party);
            asked != nullptr && asked->member(name) == nullptr)
            parties_.drop_ask(name);
        ++counters_.ignored;
        log_.debug("ignored PartyLeave ", name, " -> ", m.party, ": not a member");
        return;
    }
    const auto d = parties_.leave(name);
    ++counters_.party_left;
    departed(*d, "left", "", now, out);
}

void Server::on_party_admit(const protocol::PartyAdmit& m, const Sender& s, TimePoint now,
                            Outbox& out) {
    const Entry* self = registry_.find_at(s.from, now);
    if (!holds(self, m.instance, s.keys)) {
        log_.info("not registered: ", s.from, " admitted ", m.player, " to party ", m.party);
        refuse(out, s.from, s.keys.signal_key, m.party, protocol::PartyRefusedCode::not_registered);
        return;
    }
    // Only the host of an admit-party, and only a player asking now: a host cannot pull in
    // someone who did not ask (joining is the player's consent).
    Party* p = parties_.find(m.party);
    const Entry* player = registry_.find(m.player, now);
    if (p == nullptr || !p->admits() || p->host().name != self->name) {
        ++counters_.party_admit_ignored;
        log_.debug("ignored PartyAdmit ", self->name, " -> ", m.player, " in party ", m.party,
                   ": not its host");
        return;
    }
    if (player == nullptr || parties_.live_ask(*p, m.player, now, config_.request_ttl) == nullptr) {
        ++counters_.party_admit_ignored;
        log_.debug("ignored PartyAdmit ", self->name, " -> ", m.player, " in party ", m.party,
                   ": no live ask");
        return;
    }
    parties_.admit(*p, player->name, player->keys.client_key);
    ++counters_.party_admitted;
    log_.info(self->name, " admitted ", player->name, " to party ", p->name);
    if (p->members.size() >= config_.parties.max_members) return;  // joins when there is room
    join_party(*p, *player, now, out);
}

void Server::on_unregister(const protocol::Unregister& m, const Sender& s, TimePoint now,
                           Outbox& out) {
    const Address from = s.from;
    const Entry* self = registry_.find_at(from, now);
    if (!holds(self, m.instance, s.keys)) {
        ++counters_.ignored;
        log_.debug("ignored Unregister from ", from, ": holds no name under that instance");
        return;
    }
    const std::string name = self->name.str();  // `self` dies with the entry
    registry_.remove(name);
    forget(name, now, out);
    ++counters_.unregistered;
    log_.info("unregistered ", name);
}

void Server::reply(Outbox& out, Address to, const std::array<std::uint8_t, 32>& key,
                   const protocol::Message& m) {
    namespace crypto = netcore::crypto;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> plain{};
    std::array<std::uint8_t, protocol::kMaxDatagramSize> sealed{};
    const std::uint64_t counter = ++sealed_;
    const std::size_t n = protocol::encode_inner(m, plain);
    const std::size_t head = protocol::encode_server_sealed_head(counter, sealed);
    const std::size_t box =
        n == 0 || head == 0
            ? 0
            : crypto::seal(key, crypto::kFromServer, counter, std::span(sealed).first(head),
                           std::span(plain).first(n), std::span(sealed).subspan(head));
    if (box == 0 || !out.push_bytes(to, std::span(sealed).first(head + box))) {
        // Only names that decoded as valid reach a reply, so this is a bug, not bad input.
        log_.error("cannot encode ", protocol::to_string(protocol::type_of(m)), " for ", to);
    }
}

std::uint64_t Server::fresh_token() {
    // Unguessable, so a stranger cannot steer a session with forged probes. Never 0, which a
    // client may use as "no token".
    std::uint64_t token = 0;
    while (token == 0) token = (std::uint64_t{random_()} << 32) | std::uint64_t{random_()};
    return token;
}

void Server::tick(TimePoint now, Outbox& out) {
    if (now < next_sweep_) return;
    next_sweep_ = now + config_.sweep_interval;
    now_ = now;
    for (const auto& name : registry_.sweep(now)) {
        ++counters_.expired;
        log_.info("expired ", name);
        forget(name, now, out);
    }
    // Members not heard for party_ttl: each logged, each party told once of all its departures.
    std::vector<std::string> changed;
    for (const auto& d : parties_.sweep(now, config_.party_ttl, config_.request_ttl)) {
        ++counters_.party_expired;
        departed(d, "dropped from",
                 ", not heard for " + std::to_string(config_.party_ttl.count()) + " ms", now, out,
                 false);
        if (!d.party_gone && std::find(changed.begin(), changed.end(), d.party) == changed.end())
            changed.push_back(d.party);
    }
    for (const auto& name : changed)
        if (const Party* p = parties_.find(name)) push_members(*p, now, out);
    introductions_.sweep(now);
    requests_.sweep(now);
    relay_grants_.sweep(now);
    tick_owners(now);
}

const Binding* Server::binding(std::string_view name, TimePoint now, std::int64_t unix_now) const {
    if (const Binding* b = owners_.find(name, unix_now)) return b;
    // An owner online longer than name_hold keeps its name, however coarse its last-seen.
    const Entry* e = registry_.find(name, now);
    return e != nullptr && (e->flags & kOwned) != 0 ? owners_.lookup(name) : nullptr;
}

void Server::tick_owners(TimePoint now) {
    if (now >= next_owner_sweep_) {
        next_owner_sweep_ = now + kOwnerSweepInterval;
        const auto gone = owners_.sweep(config_.unix_clock(), [&](std::string_view name) {
            const Entry* e = registry_.find(name, now);
            return e != nullptr && (e->flags & kOwned) != 0;
        });
        counters_.owned_expired += gone;
        if (gone > 0) log_.info("owned names expired: ", gone);
    }
    if (owners_.dirty() && now >= next_names_save_) {
        next_names_save_ = now + kNamesSaveInterval;
        flush_names();
    }
}

std::string Server::flush_names() {
    if (config_.names_file.empty() || !owners_.dirty()) return {};
    if (!names_error_.empty()) return names_error_;  // never overwrite what did not load
    auto why = owners_.save(config_.names_file);
    if (!why.empty()) {
        ++counters_.names_file_errors;
        log_.error("--names-file: ", why);
    }
    return why;
}

// ---- socket ------------------------------------------------------------------------------------

bool Server::open(Address bind, std::string* error) {
    const std::string why = socket_.open(bind);
    if (!why.empty()) {
        if (error != nullptr) *error = why;
        return false;
    }
    return true;
}

void Server::close() {
    socket_.close();
}

std::size_t Server::poll(std::uint32_t timeout_ms, TimePoint now) {
    std::size_t handled = 0;
    if (socket_.is_open()) {
        const auto waited = socket_.wait(timeout_ms);
        if (waited == UdpSocket::Wait::error) log_.warn("waiting on the socket failed");
        // A batch at a time (one system call each way on Linux); replies go out in the order
        // the requests came, after the batch that caused them.
        for (std::size_t attempts = 0;
             waited == UdpSocket::Wait::readable && attempts < kMaxDatagramsPerPoll;) {
            const int n = socket_.receive_batch(received_);
            if (n == 0) break;  // drained
            if (n < 0) {
                ++counters_.receive_errors;
                ++attempts;
                continue;
            }
            attempts += received_.size();
            outbox_.clear();
            for (const auto& r : received_) {
                ++handled;
                handle(r.bytes, r.from, now, outbox_);
            }
            send_outbox();
            // A short batch drained the socket: skip the system call that would say so.
            if (received_.size() < UdpSocket::kBatchSize) break;
        }
    }
    outbox_.clear();
    tick(now, outbox_);
    send_outbox();
    return handled;
}

void Server::send_outbox() {
    const auto all = outbox_.datagrams();
    std::size_t next = 0;
    while (next < all.size()) {
        const std::size_t sent = socket_.send_batch(all.subspan(next));
        for (std::size_t i = next; i < next + sent; ++i) {
            ++counters_.packets_out;
            counters_.bytes_out += all[i].size;
        }
        next += sent;
        if (next < all.size()) {
            ++counters_.send_errors;
            log_.debug("sending to ", all[next].to, " failed");
            ++next;
        }
    }
}

// ---- observation -------------------------------------------------------------------------------

Counters Server::counters() const {
    Counters c = counters_;
    c.names = registry_.size();
    c.longest_probe = registry_.longest_probe();
    c.pending_introductions = introductions_.size();
    c.pending_requests = requests_.size();
    c.parties = parties_.size();
    c.party_members = parties_.members();
    c.sources = limiter_.size();
    c.owned_names = owners_.size();
    c.sources_evicted = limiter_.evicted();
    return c;
}

}  // namespace rendezvous
