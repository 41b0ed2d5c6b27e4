#include "relay.hpp"

#include <algorithm>

namespace netcore::detail {

namespace {

// How long a released allocation's client is kept to re-send its release until the server
// confirms it. A release lost under loss would leave the allocation on the TURN server for its
// whole lifetime, and a later client that the NAT happens to give the same port gets 437.
constexpr Duration kReleaseWait{3000};

// A renewal of the relay credentials (RelayRenew) that got no answer is sent again this often,
// until the credential expires (the server drops what it refuses, unanswered).
constexpr Duration kRenewRetry{10000};

// A check of the allocation (a Refresh sent when the relayed peers fell silent) that goes
// unanswered this long means the server is gone: the allocation is made on the grant's next
// server. The TURN client has sent it 3 times by then (0, 0.25, 0.75 s), and the peers have been
// silent for Config::path_silence before it: about 2 s without the relay in all.
constexpr Duration kCheckWait{1000};
// An allocation made to replace a lost one that is not up after this long (a server that does
// not answer) is tried on the grant's next server; and a replacement that failed is not tried
// again sooner (a server that refuses at once must not be asked in a loop). An Allocate takes
// two round trips (the 401 that names the realm, then the signed one).
constexpr Duration kRecoverWait{2000};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::int64_t relay_username_expiry(std::string_view username) {
    std::int64_t expiry = 0;
    std::size_t i = 0;
    for (; i < username.size() && i < 18 && username[i] >= '0' && username[i] <= '9'; ++i)
        expiry = expiry * 10 + (username[i] - '0');
    return i > 0 && i < username.size() && username[i] == ':' ? expiry : 0;
}

void Relay::start(const protocol::RelayGrant& grant, std::uint64_t token, std::string_view peer,
                  TimePoint now, RawOutbox& out) {
    server_count_ = grant.count;
    std::copy_n(grant.servers.begin(), server_count_, servers_.begin());
    server_next_ = 0;
    take_credentials(grant, now);
    token_ = token;
    peer_ = peer;
    standing_ = false;
    start_turn(now, out);
}

void Relay::stand(const protocol::RelayGrant& grant, std::string_view name, TimePoint now,
                  RawOutbox& out) {
    if (grant.count == 0 || grant.username.empty()) return;
    if (!turn_) {
        start(grant, 0, name, now, out);
        standing_ = true;
        return;
    }
    take_credentials(grant, now);
    token_ = 0;
    peer_ = name;
    standing_ = true;
}

// Allocates on the next TURN server of the grant.
void Relay::start_turn(TimePoint now, RawOutbox& out) {
    server_at_ = server_next_++;
    turn_.emplace(timing_);
    turn_->start(servers_[server_at_], credentials_, now, out);
    permits_sent_ = 0;  // a new allocation needs its permissions anew
    up_ = false;
    recovering_ = false;
    attempt_at_ = heard_ = now;
    checked_ = {};
    ++allocations_;
}

// Replaces a lost allocation on the grant's server `server` (counted modulo the grant), with
// the credentials renewed last: TURN-REST ones are good for any Allocate until they expire.
void Relay::reallocate(std::size_t server, TimePoint now, RawOutbox& out) {
    server_next_ = server % server_count_;
    start_turn(now, out);
    recovering_ = true;
    ++reallocations_;
}

void Relay::want_permit(std::uint32_t ip) {
    if (ip == 0 || permits_wanted_ == permits_.size()) return;
    for (std::size_t i = 0; i < permits_wanted_; ++i)
        if (permits_[i] == ip) return;
    permits_[permits_wanted_++] = ip;
}

void Relay::drop_permit(std::uint32_t ip) {
    for (std::size_t i = 0; i < permits_wanted_; ++i) {
        if (permits_[i] != ip) continue;
        std::copy(permits_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                  permits_.begin() + static_cast<std::ptrdiff_t>(permits_wanted_),
                  permits_.begin() + static_cast<std::ptrdiff_t>(i));
        --permits_wanted_;
        if (i < permits_sent_) --permits_sent_;
        if (turn_) turn_->unpermit(ip);
        return;
    }
}

// The grant's credentials are ours from now on (for the next Allocate too); the next renewal
// at half their remaining lifetime, none once it is nearly gone.
void Relay::take_credentials(const protocol::RelayGrant& grant, TimePoint now) {
    credentials_ = {std::string(grant.username), std::string(grant.password)};
    const std::int64_t expiry = relay_username_expiry(grant.username);
    expiry_ = expiry;
    const std::int64_t left = expiry - unix_now();
    if (left < 2) {
        expiry_ = 0;
        return;
    }
    next_renew_ = now + std::chrono::seconds(left / 2);
}

bool Relay::on_credentials(const protocol::RelayCredentials& fresh, TimePoint now) {
    if (expiry_ == 0 || fresh.token != token_ || fresh.relay.count == 0 ||
        fresh.relay.username.empty())
        return false;  // no connection renewing, or not its pair
    take_credentials(fresh.relay, now);
    ++renewals_;
    return true;
}

void Relay::update(TimePoint now, const Use& use, RendezvousClient& rendezvous, RawOutbox& out) {
    if (expiry_ != 0 && now >= next_renew_) {
        if (!use.renew || unix_now() >= expiry_) {
            expiry_ = 0;
        } else {
            rendezvous.send(protocol::RelayRenew{rendezvous.instance(), token_, peer_}, out);
            next_renew_ = now + kRenewRetry;
        }
    }
    if (retiring_) {
        retiring_->update(now, out);
        if (retiring_->release_confirmed() || now >= retire_until_) retiring_.reset();
    }
    if (!turn_) return;
    turn_->update(now, out);
    watch(use, now, out);
    if (turn_->state() != TurnClient::State::allocated) return;
    for (; permits_sent_ < permits_wanted_; ++permits_sent_)
        turn_->permit(Address{permits_[permits_sent_], 0}, now, out);
}

// Keeps an allocation for the connections that need it (docs/RELAY.md, "When the TURN server
// restarts"). A relayed connection hears its peer through our allocation every few hundred
// milliseconds (ENet pings every 500 ms when idle), one on standby every standby_interval (the
// peer's standby probes, and the answers to ours); when nothing came for Use::silence (or
// Use::standby_silence), a Refresh checks the allocation at once. A server that restarted has
// forgotten it and answers with an error (437 Allocation Mismatch, or 438 then 437): it is made
// anew on the same server. A server that does not answer is left for the grant's next one.
void Relay::watch(const Use& use, TimePoint now, RawOutbox& out) {
    using State = TurnClient::State;
    const bool needed = use.setting_up || use.relayed || use.standby;
    switch (turn_->state()) {
        case State::failed:
            if ((up_ || recovering_) && needed) {
                if (recovering_ && now - attempt_at_ < kRecoverWait) return;
                // It answered (it lost our allocation): the same server; silent: the next.
                reallocate(turn_->error_code() != 0 ? server_at_ : server_at_ + 1, now, out);
            } else if (use.setting_up && server_next_ < server_count_) {
                start_turn(now, out);  // the grant's next server
            }
            return;
        case State::allocating:
            if (recovering_ && server_count_ > 1 && now - attempt_at_ >= kRecoverWait)
                reallocate(server_at_ + 1, now, out);
            return;
        case State::allocated:
            break;
        default:
            return;
    }
    if (!up_) {
        up_ = true;
        heard_ = now;
    }
    if (!use.relayed && !use.standby) return;
    if (turn_->refreshing()) {
        // Checked after the relay fell silent, unanswered, and still nothing came through it.
        if (server_count_ > 1 && checked_ >= heard_ && checked_ != TimePoint{} &&
            now - checked_ >= kCheckWait) {
            turn_->release(out);  // best effort, should the server only have been unreachable
            retiring_ = std::move(turn_);
            retire_until_ = now + kReleaseWait;
            reallocate(server_at_ + 1, now, out);
        }
        return;
    }
    if (now - std::max(heard_, checked_) >= (use.relayed ? use.silence : use.standby_silence)) {
        turn_->check(now, out);
        checked_ = now;
    }
}

Relay::Received Relay::handle(std::span<const std::uint8_t> data, Address from, TimePoint now,
                              RawOutbox& out) {
    using Kind = TurnClient::Received::Kind;
    Received r;
    if (retiring_ && retiring_->is_server(from)) {
        if (retiring_->handle(data, now, out).kind == Kind::consumed) {
            r.kind = Received::Kind::consumed;
            return r;
        }
        if (!turn_ || !turn_->is_server(from)) {
            r.kind = Received::Kind::dropped;  // late relayed data: the allocation is gone
            return r;
        }
    }
    if (!turn_ || !turn_->is_server(from)) return r;
    const auto got = turn_->handle(data, now, out);
    switch (got.kind) {
        case Kind::consumed:
            r.kind = Received::Kind::consumed;
            return r;
        case Kind::dropped:
            r.kind = Received::Kind::dropped;
            return r;
        case Kind::peer_data:
            heard_ = now;
            r.kind = Received::Kind::peer_data;
            r.payload = got.payload;
            r.peer = got.peer;
            return r;
    }
    return r;
}

void Relay::stop(TimePoint now, RawOutbox& out) {
    if (turn_) {
        turn_->release(out);
        retiring_ = std::move(turn_);
        retire_until_ = now + kReleaseWait;
    }
    turn_.reset();
    permits_wanted_ = permits_sent_ = 0;
    up_ = recovering_ = false;
    standing_ = false;
}

std::size_t Relay::wrap(Address peer, std::span<const std::uint8_t> sealed,
                        std::span<std::uint8_t> out) {
    return turn_ ? turn_->wrap(peer, sealed, out) : 0;
}

std::string Relay::status(bool peer_relay_known) const {
    if (!turn_) return "";
    switch (turn_->state()) {
        case TurnClient::State::failed:
            return "; relay: " + turn_->error();
        case TurnClient::State::allocating:
            return "; relay: still allocating";
        case TurnClient::State::allocated:
            return peer_relay_known ? "; relay: no answer through the relays"
                                    : "; relay: the peer's relay never arrived";
        default:
            return "";
    }
}

}  // namespace netcore::detail
