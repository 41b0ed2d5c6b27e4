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
    credentials_ = {std::string(grant.username), std::string(grant.password)};
    token_ = token;
    peer_ = peer;
    schedule_renewal(relay_username_expiry(grant.username), now);
    start_turn(now, out);
}

// Allocates on the next TURN server of the grant.
void Relay::start_turn(TimePoint now, RawOutbox& out) {
    turn_.emplace();
    turn_->start(servers_[server_next_++], credentials_, now, out);
    permits_sent_ = 0;  // a new allocation needs its permissions anew
}

void Relay::want_permit(std::uint32_t ip) {
    if (ip == 0 || permits_wanted_ == permits_.size()) return;
    for (std::size_t i = 0; i < permits_wanted_; ++i)
        if (permits_[i] == ip) return;
    permits_[permits_wanted_++] = ip;
}

// The next renewal at half the credential's remaining lifetime; none once it is nearly gone.
void Relay::schedule_renewal(std::int64_t expiry, TimePoint now) {
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
    credentials_ = {std::string(fresh.relay.username), std::string(fresh.relay.password)};
    ++renewals_;
    schedule_renewal(relay_username_expiry(fresh.relay.username), now);
    return true;
}

void Relay::update(TimePoint now, bool setting_up, bool renew, RendezvousClient& rendezvous,
                   RawOutbox& out) {
    if (expiry_ != 0 && now >= next_renew_) {
        if (!renew || unix_now() >= expiry_) {
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
    if (turn_->state() == TurnClient::State::failed && setting_up && server_next_ < server_count_)
        start_turn(now, out);  // the grant's next server
    if (turn_->state() != TurnClient::State::allocated) return;
    for (; permits_sent_ < permits_wanted_; ++permits_sent_)
        turn_->permit(Address{permits_[permits_sent_], 0}, now, out);
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
