// The TURN client's state machine (RFC 8656 over UDP, RFC 8489 transactions); docs/TURN.md.
#include "turn_client.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace netcore::detail {

using stun::Attr;
using Kind = TurnClient::Received::Kind;

namespace {

// RFC 8656 §7.2: the lifetime a server grants when it names none (coturn's default too).
constexpr std::uint32_t kDefaultLifetime = 600;  // s
// How much of a server's reason phrase goes into error(): enough for any standard one.
constexpr std::size_t kMaxReasonShown = 80;  // bytes

// A reason phrase fit for a log line: printable ASCII only, bounded.
std::string printable(std::string_view reason) {
    std::string out;
    for (char c : reason.substr(0, kMaxReasonShown)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
    return out;
}

std::string code_and_reason(const stun::ErrorCode& e) {
    std::string s = std::to_string(e.code);
    if (!e.reason.empty()) {
        // Appended in two steps: `s += " " + ...` trips GCC 12's -Wrestrict at -O3.
        s += ' ';
        s += printable(e.reason);
    }
    return s;
}

}  // namespace

const char* to_string(TurnClient::State s) {
    switch (s) {
        case TurnClient::State::idle:
            return "idle";
        case TurnClient::State::allocating:
            return "allocating";
        case TurnClient::State::allocated:
            return "allocated";
        case TurnClient::State::failed:
            return "failed";
        case TurnClient::State::released:
            return "released";
    }
    return "?";
}

stun::Method TurnClient::method_of(Op op) {
    switch (op) {
        case Op::allocate:
            return stun::Method::allocate;
        case Op::permission:
            return stun::Method::create_permission;
        case Op::channel:
            return stun::Method::channel_bind;
        case Op::refresh:
        case Op::release:
            break;
    }
    return stun::Method::refresh;
}

const char* TurnClient::name_of(Op op) {
    switch (op) {
        case Op::allocate:
            return "Allocate";
        case Op::refresh:
            return "Refresh";
        case Op::permission:
            return "CreatePermission";
        case Op::channel:
            return "ChannelBind";
        case Op::release:
            return "Refresh (release)";
    }
    return "?";
}

Duration TurnTiming::give_up_after() const {
    Duration total{0};
    Duration rto = initial_rto;
    for (int i = 0; i < max_sends; ++i, rto = std::min(rto * 2, max_rto)) total += rto;
    return total;
}

TurnClient::TurnClient(TurnTiming timing) : timing_(timing) {
    // The secret behind the transaction ids. random_device may throw where it has no source;
    // the clock is then all we have, which still makes ids unique, if guessable.
    std::array<std::uint8_t, 32> seed{};
    const auto ticks = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
    for (std::size_t i = 0; i < 8; ++i) seed[i] = static_cast<std::uint8_t>(ticks >> (8 * i));
    try {
        std::random_device rd;
        for (std::size_t i = 8; i < seed.size(); i += 4) {
            const auto r = rd();
            for (std::size_t j = 0; j < 4; ++j)
                seed[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
        }
    } catch (...) {
    }
    id_key_ = stun::IntegrityKey(seed);
}

stun::TransactionId TurnClient::new_id() {
    std::array<std::uint8_t, 8> counter{};
    ++id_counter_;
    for (std::size_t i = 0; i < counter.size(); ++i)
        counter[i] = static_cast<std::uint8_t>(id_counter_ >> (8 * i));
    std::array<std::uint8_t, stun::kIntegritySize> mac{};
    id_key_.mac(counter, mac);
    stun::TransactionId id{};
    std::copy_n(mac.begin(), id.size(), id.begin());
    return id;
}

// ---- Starting, stopping ------------------------------------------------------------------

void TurnClient::start(Address server, TurnCredentials credentials, TimePoint now, RawOutbox& out) {
    state_ = State::allocating;
    server_ = server;
    credentials_ = std::move(credentials);
    realm_.clear();
    nonce_.clear();
    key_ = {};
    relayed_ = {};
    mapped_ = {};
    lifetime_ = Duration{0};
    granted_s_ = 0;
    refresh_at_ = {};
    last_now_ = now;
    error_.clear();
    error_code_ = 0;
    release_confirmed_ = false;
    allocation_tx_ = {};
    permissions_ = {};
    channels_ = {};
    answered_count_ = 0;
    counters_ = {};
    if (credentials_.username.size() > stun::kMaxUsernameSize) {
        fail("the TURN username is longer than STUN allows (508 bytes)");
        return;
    }
    begin(allocation_tx_, Op::allocate, 0, now, out);
}

void TurnClient::release(RawOutbox& out) {
    for (auto& p : permissions_) p.tx.active = false;
    for (auto& c : channels_) c.tx.active = false;
    const bool allocated = state_ == State::allocated;
    state_ = State::released;
    if (allocated)
        begin(allocation_tx_, Op::release, 0, last_now_, out);
    else
        allocation_tx_.active = false;
}

void TurnClient::fail(std::string sentence, int code) {
    state_ = State::failed;
    error_ = std::move(sentence);
    error_code_ = code;
    allocation_tx_.active = false;
    for (auto& p : permissions_) p.tx.active = false;
    for (auto& c : channels_) c.tx.active = false;
}

// ---- Transactions ------------------------------------------------------------------------

void TurnClient::begin(Transaction& tx, Op op, std::uint8_t slot, TimePoint now, RawOutbox& out) {
    tx.active = true;
    tx.op = op;
    tx.slot = slot;
    tx.stale_nonces = 0;
    tx.mismatches = 0;
    restart(tx, now, out);
}

void TurnClient::restart(Transaction& tx, TimePoint now, RawOutbox& out) {
    // A changed request is a new transaction, so it gets a new id.
    tx.id = new_id();
    tx.sends = 0;
    tx.rto = timing_.initial_rto;
    transmit(tx, now, out);
}

void TurnClient::transmit(Transaction& tx, TimePoint now, RawOutbox& out) {
    const auto bytes = build(tx);
    if (bytes.empty()) {  // cannot happen: every field is bounded to fit kMaxRequestSize
        fail("a TURN request did not fit its buffer");
        return;
    }
    out.send_raw(server_, bytes);
    ++counters_.requests_sent;
    if (tx.sends > 0) ++counters_.retransmissions;
    ++tx.sends;
    tx.next = now + tx.rto;
    tx.rto = std::min(tx.rto * 2, timing_.max_rto);
}

std::span<const std::uint8_t> TurnClient::build(const Transaction& tx) {
    stun::Writer w(buffer_, method_of(tx.op), stun::Class::request, tx.id);
    switch (tx.op) {
        case Op::allocate:
            w.add_requested_transport_udp();
            break;
        case Op::refresh:
            // The lifetime the Allocate was granted: what the server chose, asked for again.
            // (coturn 4.6 grants a Refresh at least 600 s whatever we ask, even above its
            // --max-allocate-lifetime; we follow whatever it answers.)
            w.add_u32(Attr::lifetime, granted_s_);
            break;
        case Op::release:
            w.add_u32(Attr::lifetime, 0);  // RFC 8656 §8: lifetime 0 deletes the allocation
            break;
        case Op::permission:
            w.add_xor_address(Attr::xor_peer_address, Address{permissions_[tx.slot].ip, 0});
            break;
        case Op::channel:
            w.add_channel_number(static_cast<std::uint16_t>(stun::kFirstChannel + tx.slot));
            w.add_xor_address(Attr::xor_peer_address, channels_[tx.slot].peer);
            break;
    }
    if (!key_.empty()) {
        w.add(Attr::username, credentials_.username);
        w.add(Attr::realm, realm_);
        w.add(Attr::nonce, nonce_);
        w.add_integrity(key_);
    }
    return w.bytes();
}

void TurnClient::tick(Transaction& tx, TimePoint now, RawOutbox& out) {
    if (!tx.active || now < tx.next) return;
    if (tx.sends < timing_.max_sends) {
        transmit(tx, now, out);
        return;
    }
    tx.active = false;
    if (tx.op == Op::release) return;  // best effort: the server will expire it anyway
    // "over 10 s" for the default 9.75 s; a test's shorter schedule in milliseconds.
    const auto ms = timing_.give_up_after().count();
    const std::string over =
        ms >= 1000 ? std::to_string((ms + 500) / 1000) + " s" : std::to_string(ms) + " ms";
    char sentence[160];
    std::snprintf(sentence, sizeof sentence,
                  "no answer from TURN server %s to %s (sent %d times over %s)",
                  server_.to_string().c_str(), name_of(tx.op), timing_.max_sends, over.c_str());
    fail(sentence);
}

TurnClient::Transaction* TurnClient::find_transaction(const stun::TransactionId& id) {
    if (allocation_tx_.active && allocation_tx_.id == id) return &allocation_tx_;
    for (auto& p : permissions_)
        if (p.tx.active && p.tx.id == id) return &p.tx;
    for (auto& c : channels_)
        if (c.tx.active && c.tx.id == id) return &c.tx;
    return nullptr;
}

void TurnClient::finish(Transaction& tx) {
    tx.active = false;
    answered_[answered_count_ % answered_.size()] = tx.id;
    ++answered_count_;
}

bool TurnClient::was_answered(const stun::TransactionId& id) const {
    const std::size_t n = std::min<std::size_t>(answered_count_, answered_.size());
    return std::find(answered_.begin(), answered_.begin() + static_cast<std::ptrdiff_t>(n), id) !=
           answered_.begin() + static_cast<std::ptrdiff_t>(n);
}

// ---- Time --------------------------------------------------------------------------------

void TurnClient::update(TimePoint now, RawOutbox& out) {
    last_now_ = now;
    if (state_ == State::released) {
        tick(allocation_tx_, now, out);  // the release's retransmissions
        return;
    }
    if (state_ != State::allocating && state_ != State::allocated) return;
    tick(allocation_tx_, now, out);
    if (state_ == State::allocated && !allocation_tx_.active && now >= refresh_at_)
        begin(allocation_tx_, Op::refresh, 0, now, out);
    for (std::size_t i = 0; i < permissions_.size() && state_ == State::allocated; ++i) {
        auto& p = permissions_[i];
        if (!p.used || p.failed) continue;
        tick(p.tx, now, out);
        if (p.installed && !p.tx.active && now >= p.refresh_at)
            begin(p.tx, Op::permission, static_cast<std::uint8_t>(i), now, out);
    }
    for (std::size_t i = 0; i < channels_.size() && state_ == State::allocated; ++i) {
        auto& c = channels_[i];
        if (!c.used || c.failed) continue;
        tick(c.tx, now, out);
        if (c.bound && !c.tx.active && now >= c.refresh_at)
            begin(c.tx, Op::channel, static_cast<std::uint8_t>(i), now, out);
    }
}

void TurnClient::check(TimePoint now, RawOutbox& out) {
    last_now_ = now;
    if (state_ != State::allocated || allocation_tx_.active) return;
    begin(allocation_tx_, Op::refresh, 0, now, out);
}

void TurnClient::schedule_refresh(std::uint32_t lifetime_s, TimePoint now) {
    lifetime_ = Duration(std::int64_t{lifetime_s} * 1000);
    // Half the lifetime leaves room for the retransmissions (10 s by default) and a 438 round trip;
    // for any lifetime of 2 min or more it is also before lifetime - 60 s.
    refresh_at_ = now + lifetime_ / 2;
}

// ---- Permissions and channels ------------------------------------------------------------

TurnClient::Permission* TurnClient::find_permission(std::uint32_t ip) {
    for (auto& p : permissions_)
        if (p.used && p.ip == ip) return &p;
    return nullptr;
}

const TurnClient::Permission* TurnClient::find_permission(std::uint32_t ip) const {
    for (const auto& p : permissions_)
        if (p.used && p.ip == ip) return &p;
    return nullptr;
}

TurnClient::Channel* TurnClient::find_channel(Address peer) {
    for (auto& c : channels_)
        if (c.used && c.peer == peer) return &c;
    return nullptr;
}

bool TurnClient::permitted(std::uint32_t ip) const {
    const Permission* p = find_permission(ip);
    return p != nullptr && p->installed && !p->failed;
}

std::uint16_t TurnClient::channel(Address peer) const {
    for (std::size_t i = 0; i < channels_.size(); ++i)
        if (channels_[i].used && channels_[i].bound && channels_[i].peer == peer)
            return static_cast<std::uint16_t>(stun::kFirstChannel + i);
    return 0;
}

void TurnClient::permit(Address peer, TimePoint now, RawOutbox& out) {
    last_now_ = now;
    if (state_ != State::allocating && state_ != State::allocated) return;
    Permission* p = find_permission(peer.ip);
    if (p != nullptr && !p->failed) return;  // asked for already: kept refreshed
    if (p == nullptr) {
        const auto free = std::find_if(permissions_.begin(), permissions_.end(),
                                       [](const Permission& q) { return !q.used; });
        if (free == permissions_.end()) {
            ++counters_.permission_failures;
            return;
        }
        p = &*free;
        *p = Permission{};
        p->used = true;
        p->ip = peer.ip;
    }
    p->failed = false;
    // Before the allocation exists there is nothing to permit on: on_success sends it.
    if (state_ == State::allocated)
        begin(p->tx, Op::permission, static_cast<std::uint8_t>(p - permissions_.data()), now, out);
}

void TurnClient::unpermit(std::uint32_t ip) {
    if (Permission* p = find_permission(ip); p != nullptr) *p = Permission{};
}

void TurnClient::bind_channel(Address peer, TimePoint now, RawOutbox& out) {
    const auto free =
        std::find_if(channels_.begin(), channels_.end(), [](const Channel& c) { return !c.used; });
    if (free == channels_.end()) {
        ++counters_.channel_failures;  // Data indications keep working, just 36 bytes heavier
        return;
    }
    *free = Channel{};
    free->used = true;
    free->peer = peer;
    begin(free->tx, Op::channel, static_cast<std::uint8_t>(free - channels_.begin()), now, out);
}

std::size_t TurnClient::wrap(Address peer, std::span<const std::uint8_t> payload,
                             std::span<std::uint8_t> out) {
    if (state_ != State::allocated) return 0;
    if (const std::uint16_t number = channel(peer); number != 0)
        return stun::write_channel_data(number, payload, out);
    if (!permitted(peer.ip)) return 0;
    // RFC 8656 §11.1: a Send indication, XOR-PEER-ADDRESS and DATA; no authentication.
    stun::Writer w(out, stun::Method::send, stun::Class::indication, new_id());
    w.add_xor_address(Attr::xor_peer_address, peer);
    w.add(Attr::data, payload);
    return w.bytes().size();
}

// ---- Receiving ---------------------------------------------------------------------------

bool TurnClient::is_server(Address from) const {
    return state_ != State::idle && from == server_;
}

TurnClient::Received TurnClient::handle(std::span<const std::uint8_t> datagram, TimePoint now,
                                        RawOutbox& out) {
    last_now_ = now;
    Received r = dispatch(datagram, now, out);
    if (r.kind == Kind::dropped) ++counters_.dropped;
    return r;
}

TurnClient::Received TurnClient::dispatch(std::span<const std::uint8_t> datagram, TimePoint now,
                                          RawOutbox& out) {
    if (state_ == State::idle || state_ == State::failed) return {};
    if (stun::looks_like_channel_data(datagram)) return on_channel_data(datagram);
    stun::Message m;
    if (stun::parse(datagram, m) != stun::ParseError::ok) return {};
    if (m.cls() == stun::Class::indication && m.method() == stun::Method::data)
        return on_data_indication(m, now, out);
    if (m.cls() != stun::Class::success && m.cls() != stun::Class::error) return {};
    Transaction* tx = find_transaction(m.transaction());
    if (tx == nullptr) {
        // The answer to a retransmission of a request already answered is no news.
        return {was_answered(m.transaction()) ? Kind::consumed : Kind::dropped, {}, {}};
    }
    if (m.method() != method_of(tx->op)) return {};
    if (m.cls() == stun::Class::error) return on_error(*tx, m, now, out);
    // Authenticated answers carry MESSAGE-INTEGRITY (coturn's do); one that does not verify
    // is not from the server, or not for us: ignored, so the request is retransmitted.
    if (!key_.empty() && m.has_integrity() && !m.check_integrity(key_)) {
        ++counters_.integrity_failures;
        return {};
    }
    on_success(*tx, m, now, out);
    return {Kind::consumed, {}, {}};
}

TurnClient::Received TurnClient::on_channel_data(std::span<const std::uint8_t> datagram) {
    // The hot path: every game packet through the relay. No allocation, no copy.
    if (state_ != State::allocated) return {};
    stun::ChannelData cd;
    if (!stun::parse_channel_data(datagram, cd)) return {};
    const std::size_t index = cd.channel - stun::kFirstChannel;
    if (index >= channels_.size()) return {};
    const Channel& c = channels_[index];
    // A bind still in flight counts: the server sends ChannelData only once it has bound the
    // channel, and our copy of its answer may be the one that was lost.
    if (!c.used || c.failed) return {};
    ++counters_.channel_data;
    return {Kind::peer_data, cd.data, c.peer};
}

TurnClient::Received TurnClient::on_data_indication(const stun::Message& m, TimePoint now,
                                                    RawOutbox& out) {
    if (state_ != State::allocated) return {};
    const auto peer = m.xor_address(Attr::xor_peer_address);
    const auto data = m.find(Attr::data);
    if (!peer || !data) return {};
    // The server relays only from permitted IPs; we check again rather than trust it.
    const Permission* p = find_permission(peer->ip);
    if (p == nullptr || p->failed) return {};
    ++counters_.data_indications;
    // RFC 8656 §12: a channel saves 32 bytes and a parse per datagram; bound to the exact
    // address the peer's datagrams come from, which is the one the relay saw.
    if (find_channel(*peer) == nullptr) bind_channel(*peer, now, out);
    return {Kind::peer_data, *data, *peer};
}

TurnClient::Received TurnClient::on_error(Transaction& tx, const stun::Message& m, TimePoint now,
                                          RawOutbox& out) {
    const auto e = m.error_code();
    if (!e) return {};  // malformed: the request is retransmitted as if unanswered
    const std::string server = server_.to_string();

    if (e->code == 438) {
        // RFC 8489 §9.2.5: the nonce expired; take the new one and send the request again.
        const auto nonce = m.text(Attr::nonce);
        if (!nonce || nonce->empty() || nonce->size() > stun::kMaxNonceSize) return {};
        ++counters_.stale_nonces;
        if (++tx.stale_nonces > kMaxStaleNonces) {
            fail("TURN server " + server + " keeps answering " + name_of(tx.op) + " with " +
                     code_and_reason(*e),
                 e->code);
            return {Kind::consumed, {}, {}};
        }
        nonce_ = *nonce;
        if (const auto realm = m.text(Attr::realm);
            realm && !realm->empty() && realm->size() <= stun::kMaxRealmSize && *realm != realm_) {
            realm_ = *realm;
            key_ =
                stun::IntegrityKey::long_term(credentials_.username, realm_, credentials_.password);
        }
        finish(tx);
        tx.active = true;
        restart(tx, now, out);
        return {Kind::consumed, {}, {}};
    }

    if (e->code == 401 && tx.op == Op::allocate && key_.empty()) {
        // RFC 8489 §9.2.3.1, §9.2.5: the first, unauthenticated Allocate is refused with the
        // realm and a nonce; the key is derived once, here, and every later request is signed
        // with it.
        const auto realm = m.text(Attr::realm);
        const auto nonce = m.text(Attr::nonce);
        if (!realm || !nonce || realm->empty() || nonce->empty() ||
            realm->size() > stun::kMaxRealmSize || nonce->size() > stun::kMaxNonceSize) {
            fail("TURN server " + server + " answered 401 without a usable realm and nonce", 401);
            return {Kind::consumed, {}, {}};
        }
        realm_ = *realm;
        nonce_ = *nonce;
        key_ = stun::IntegrityKey::long_term(credentials_.username, realm_, credentials_.password);
        finish(tx);
        tx.active = true;
        restart(tx, now, out);
        return {Kind::consumed, {}, {}};
    }

    if (e->code == 437 && tx.op == Op::allocate && ++tx.mismatches <= kMaxMismatches) {
        // RFC 8656 §7.4: the server still has an allocation on our 5-tuple. coturn keeps a
        // released one for about a second; a crashed predecessor's lasts its lifetime. Wait,
        // then try again with a new transaction.
        finish(tx);
        tx.active = true;
        tx.id = new_id();
        tx.sends = 0;
        tx.rto = timing_.initial_rto;
        tx.next = now + kMismatchWait;
        return {Kind::consumed, {}, {}};
    }

    finish(tx);
    switch (tx.op) {
        case Op::release:
            break;  // 437: already gone, which is what we wanted
        case Op::permission: {
            auto& p = permissions_[tx.slot];
            p.failed = true;  // 403 Forbidden: the server will not relay from that IP
            p.installed = false;
            ++counters_.permission_failures;
            break;
        }
        case Op::channel: {
            auto& c = channels_[tx.slot];
            c.failed = true;  // Data indications keep working
            c.bound = false;
            ++counters_.channel_failures;
            break;
        }
        case Op::allocate:
        case Op::refresh:
            if (e->code == 401)
                fail("TURN server " + server + " refused the credentials (" + code_and_reason(*e) +
                         ")",
                     e->code);
            else
                fail("TURN server " + server + " answered " + name_of(tx.op) + " with " +
                         code_and_reason(*e),
                     e->code);
            break;
    }
    return {Kind::consumed, {}, {}};
}

void TurnClient::on_success(Transaction& tx, const stun::Message& m, TimePoint now,
                            RawOutbox& out) {
    finish(tx);
    switch (tx.op) {
        case Op::allocate: {
            const auto relayed = m.xor_address(Attr::xor_relayed_address);
            if (!relayed) {
                fail("TURN server " + server_.to_string() +
                     " allocated no IPv4 relayed address (ENet 1.3 is IPv4 only)");
                return;
            }
            relayed_ = *relayed;
            const auto lifetime = m.u32(Attr::lifetime).value_or(kDefaultLifetime);
            if (lifetime == 0) {
                fail("TURN server " + server_.to_string() + " granted an allocation of 0 s");
                return;
            }
            mapped_ = m.xor_address(Attr::xor_mapped_address).value_or(Address{});
            granted_s_ = lifetime;
            state_ = State::allocated;
            schedule_refresh(lifetime, now);
            // The permissions asked for while allocating.
            for (std::size_t i = 0; i < permissions_.size(); ++i)
                if (permissions_[i].used && !permissions_[i].failed && !permissions_[i].tx.active)
                    begin(permissions_[i].tx, Op::permission, static_cast<std::uint8_t>(i), now,
                          out);
            return;
        }
        case Op::refresh: {
            const auto lifetime = m.u32(Attr::lifetime).value_or(kDefaultLifetime);
            if (lifetime == 0) {
                fail("TURN server " + server_.to_string() + " ended the allocation on Refresh");
                return;
            }
            ++counters_.refreshes;
            schedule_refresh(lifetime, now);
            return;
        }
        case Op::release:
            release_confirmed_ = true;
            return;
        case Op::permission: {
            auto& p = permissions_[tx.slot];
            p.installed = true;
            p.refresh_at = now + kPermissionRefresh;
            return;
        }
        case Op::channel: {
            auto& c = channels_[tx.slot];
            c.bound = true;
            c.refresh_at = now + kChannelRefresh;
            // RFC 8656 §12.2: a ChannelBind installs or refreshes the IP's permission too.
            if (Permission* p = find_permission(c.peer.ip)) p->installed = true;
            return;
        }
    }
}

}  // namespace netcore::detail
