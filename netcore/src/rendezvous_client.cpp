#include "rendezvous_client.hpp"

namespace netcore::detail {

using namespace protocol;
using Kind = RendezvousClient::Signal::Kind;

RendezvousClient::RendezvousClient(const Config& config, std::uint64_t instance, AddressList lan)
    : config_(config), instance_(instance), lan_(lan) {}

void RendezvousClient::start(TimePoint now, Outbox& out) {
    phase_ = Phase::registering;
    first_register_ = now;
    send_register(now, out);
}

void RendezvousClient::send_register(TimePoint now, Outbox& out) {
    last_register_ = now;
    ++registrations_sent_;
    out.send(config_.server, RegisterRequest{instance_, cookie_, config_.name, lan_});
}

void RendezvousClient::send_request(TimePoint now, Outbox& out) {
    last_request_ = now;
    request_sent_ = true;
    out.send(config_.server, IntroduceRequest{instance_, wanted_});
}

void RendezvousClient::remind(std::string_view peer, TimePoint now, Outbox& out) {
    if (phase_ != Phase::registered || now - last_request_ < config_.request_retry) return;
    last_request_ = now;
    out.send(config_.server, IntroduceRequest{instance_, peer});
}

void RendezvousClient::request(std::string_view peer, Duration wait, TimePoint now) {
    wanted_ = peer;
    wait_deadline_ = now + wait;
    request_sent_ = false;
    offline_reported_ = false;
}

RendezvousClient::Signal RendezvousClient::update(TimePoint now, Outbox& out) {
    switch (phase_) {
        case Phase::registering:
            if (now - first_register_ >= config_.register_timeout) {
                phase_ = Phase::failed;
                return {Kind::failed, Error::server_unreachable};
            }
            if (now - last_register_ >= config_.register_retry) send_register(now, out);
            return {};
        case Phase::registered:
            // The refresh doubles as the keepalive of our NAT mapping towards the server.
            if (now - last_register_ >= refresh_) send_register(now, out);
            break;
        case Phase::idle:
        case Phase::failed:
            return {};
    }
    if (wanted_.empty()) return {};
    if (now >= wait_deadline_) {
        wanted_.clear();
        return {Kind::request_failed, Error::peer_not_online};
    }
    if (!request_sent_ || now - last_request_ >= config_.request_retry) send_request(now, out);
    return {};
}

RendezvousClient::Signal RendezvousClient::handle(const Message& message, TimePoint now,
                                                  Outbox& out) {
    if (const auto* ack = std::get_if<RegisterAck>(&message)) {
        if (ack->instance != instance_ || phase_ == Phase::failed || phase_ == Phase::idle)
            return {};
        public_ = ack->observed;
        if (ack->refresh_ms > 0) refresh_ = Duration(ack->refresh_ms);
        const bool first = phase_ == Phase::registering;
        phase_ = Phase::registered;
        if (first && !wanted_.empty()) send_request(now, out);  // don't wait for the next retry
        return {first ? Kind::registered : Kind::none, Error::none};
    }
    if (const auto* err = std::get_if<RegisterError>(&message)) {
        if (err->instance != instance_ || phase_ == Phase::failed) return {};
        switch (err->code) {
            case RegisterErrorCode::not_registered:
                // The server forgot us (restart or expiry): register again at once.
                send_register(now, out);
                return {};
            case RegisterErrorCode::name_taken:
                phase_ = Phase::failed;
                return {Kind::failed, Error::name_taken};
            case RegisterErrorCode::name_invalid:
                phase_ = Phase::failed;
                return {Kind::failed, Error::name_invalid};
            case RegisterErrorCode::server_full:
                phase_ = Phase::failed;
                return {Kind::failed, Error::server_full};
        }
        return {};
    }
    if (const auto* challenge = std::get_if<Challenge>(&message)) {
        // PROTOCOL.md §6.1: resend at once with the cookie. Only for a new cookie: a server that
        // keeps refusing the same one is answered by the retry timer, never in a tight loop.
        if (challenge->instance != instance_ ||
            (phase_ != Phase::registering && phase_ != Phase::registered) ||
            challenge->cookie == cookie_)
            return {};
        cookie_ = challenge->cookie;
        send_register(now, out);
        return {};
    }
    if (const auto* unknown = std::get_if<PeerUnknown>(&message)) {
        if (wanted_.empty() || unknown->peer != wanted_ || offline_reported_) return {};
        offline_reported_ = true;
        return {Kind::peer_offline, Error::none};
    }
    if (const auto* intro = std::get_if<Introduction>(&message)) {
        if (phase_ != Phase::registered) return {};
        intro_ = *intro;
        return {Kind::introduced, Error::none};
    }
    return {};
}

void RendezvousClient::unregister(Outbox& out) {
    if (phase_ == Phase::registered || phase_ == Phase::registering)
        out.send(config_.server, Unregister{instance_});
    phase_ = Phase::idle;
}

}  // namespace netcore::detail
