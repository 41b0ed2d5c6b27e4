#include "rendezvous_client.hpp"

namespace netcore::detail {

using namespace protocol;
using Kind = RendezvousClient::Signal::Kind;

RendezvousClient::RendezvousClient(const Config& config, std::uint64_t instance, AddressList lan)
    : config_(config), instance_(instance), lan_(lan), channel_(config.server_key) {
    if (config_.name_key) owner_ = crypto::sign_key_pair(*config_.name_key);
}

void RendezvousClient::start(TimePoint now, RawOutbox& out) {
    phase_ = Phase::registering;
    first_register_ = now;
    // A ticket for this server (PROTOCOL.md §6 step 1): key at once and send the sealed Register
    // with its cookie, no Hello. If the cookie no longer holds (another server run, window or
    // address), the server answers that Register with the Challenge a Hello would have drawn.
    if (const auto& t = config_.resume; t && t->server == config_.server)
        on_ticket_ = channel_.resume(t->server_key, t->salt, t->cookie);
    send_register(now, out);
}

std::optional<ResumeTicket> RendezvousClient::ticket() const {
    // After close() too (public_ stays): a game takes the ticket when its match is over.
    if (public_.empty() || !channel_.keyed() || !channel_.server_key() ||
        channel_.cookie() == Cookie{})
        return std::nullopt;
    return ResumeTicket{config_.server, *channel_.server_key(), channel_.salt(), channel_.cookie(),
                        public_};
}

bool RendezvousClient::send(const Message& message, RawOutbox& out) {
    std::array<std::uint8_t, kMaxDatagramSize> buf{};
    const std::size_t n = channel_.seal(message, buf);
    if (n == 0) return false;
    out.send_raw(config_.server, std::span(buf.data(), n));
    return true;
}

// Without a key yet (no Challenge so far) a Register cannot be sealed: a Hello asks for the
// Challenge that brings the salt, and the cookie with it (PROTOCOL.md §6.1).
void RendezvousClient::send_register(TimePoint now, RawOutbox& out) {
    last_register_ = now;
    register_answered_ = false;
    cookie_asked_ = false;  // a Challenge from here on may be for this Register: answer it
    ++registrations_sent_;
    RegisterRequest reg{instance_, config_.name, lan_};
    if (config_.consent == Consent::open) reg.flags |= RegisterFlags::open;
    if (config_.hide_address) reg.flags |= RegisterFlags::hidden;
    prove_owner(reg);
    std::array<std::uint8_t, kHelloSize> hello{};
    if (send(reg, out)) {
        // The request rides with the Register (§6 step 3): the server handles them in order, so
        // the name is held when the request is checked, and both answers come in one round trip.
        if (phase_ == Phase::registering && !wanted_.empty()) send_request(now, out);
        // A retry on a ticket: its key or salt may not be the server's (a Register that does
        // not open is dropped unanswered), so ask for a Challenge too, as without a ticket.
        if (on_ticket_ && registrations_sent_ > 1 && channel_.hello(hello) > 0)
            out.send_raw(config_.server, hello);
        return;
    }
    if (channel_.hello(hello) > 0) out.send_raw(config_.server, hello);
}

// The proof binds the owner key to this server (its key), this server run (its salt), this
// client run (our key) and the name: copied to another connection it proves nothing.
void RendezvousClient::prove_owner(RegisterRequest& reg) {
    if (!owner_ || !channel_.keyed() || !channel_.server_key()) return;
    const PublicKey& server = *channel_.server_key();
    if (!proof_made_ || !crypto::equal(proof_salt_, channel_.salt()) ||
        !crypto::equal(proof_server_, server)) {
        std::array<std::uint8_t, kOwnerStatementMax> statement{};
        const std::size_t n = owner_statement(
            server, channel_.salt(), channel_.key_pair().public_key, config_.name, statement);
        if (n == 0) return;  // an invalid name: the server refuses it anyway
        proof_ = crypto::sign(*owner_, std::span(statement).first(n));
        proof_salt_ = channel_.salt();
        proof_server_ = server;
        proof_made_ = true;
    }
    reg.flags |= RegisterFlags::owned;
    reg.owner = owner_->public_key;
    reg.proof = proof_;
}

bool RendezvousClient::renew_cookie(RawOutbox& out) {
    std::array<std::uint8_t, kHelloSize> hello{};
    if (phase_ != Phase::registered || channel_.hello(hello) == 0) return false;
    out.send_raw(config_.server, hello);
    cookie_asked_ = true;
    return true;
}

void RendezvousClient::send_request(TimePoint now, RawOutbox& out) {
    last_request_ = now;
    request_sent_ = true;
    request_pipelined_ = phase_ == Phase::registering;
    send(IntroduceRequest{instance_, wanted_}, out);
}

bool RendezvousClient::remind(std::string_view peer, TimePoint now, RawOutbox& out) {
    if (phase_ != Phase::registered || now - last_request_ < config_.request_retry) return false;
    last_request_ = now;
    send(IntroduceRequest{instance_, peer}, out);
    return true;
}

void RendezvousClient::request(std::string_view peer, Duration wait, TimePoint now,
                               RawOutbox* out) {
    wanted_ = peer;
    wait_deadline_ = now + wait;
    request_sent_ = false;
    request_pipelined_ = false;
    offline_reported_ = false;
    // A sealed Register is out (a ticket's, sent by start()): the request follows it now.
    if (out != nullptr && phase_ == Phase::registering && channel_.keyed() &&
        registrations_sent_ > 0)
        send_request(now, *out);
}

RendezvousClient::Signal RendezvousClient::update(TimePoint now, RawOutbox& out) {
    switch (phase_) {
        case Phase::registering:
            if (refused()) {
                phase_ = Phase::failed;
                return {Kind::failed, Error::server_unreachable};
            }
            if (now - first_register_ >= config_.register_timeout) {
                phase_ = Phase::failed;
                if (version_refused_) return {Kind::failed, Error::version_mismatch};
                return {Kind::failed, foreign_challenges_ > 0 ? Error::server_unauthenticated
                                                              : Error::server_unreachable};
            }
            if (now - last_register_ >= config_.register_retry) send_register(now, out);
            return {};
        case Phase::registered:
            // The refresh doubles as the keepalive of our NAT mapping towards the server. One
            // that goes unanswered is sent again, under a new salt if a Challenge brought one
            // meanwhile (the server restarted).
            if (!register_answered_ && now - last_register_ >= config_.register_retry) {
                if (held_challenge_) {
                    channel_.on_challenge(*held_challenge_, true);
                    held_challenge_.reset();
                }
                send_register(now, out);
            } else if (now - last_register_ >= refresh_) {
                send_register(now, out);
            }
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

// Attempts are told apart by registrations_sent_: errors that come while one attempt is the
// latest count once, however many come (a forger's, or one per datagram of ours).
void RendezvousClient::note_port_unreachable(Address destination) {
    if (phase_ != Phase::registering || destination != config_.server) return;
    if (refused_attempt_ == registrations_sent_) return;
    refused_attempt_ = registrations_sent_;
    ++refused_attempts_;
}

RendezvousClient::Signal RendezvousClient::handle(const Envelope& envelope, TimePoint now,
                                                  RawOutbox& out) {
    last_drop_ = Drop::none;
    if (phase_ == Phase::idle || phase_ == Phase::failed) {
        last_drop_ = Drop::unexpected;
        return {};
    }
    switch (envelope.type) {
        case EnvelopeType::challenge: {
            // PROTOCOL.md §6.1: register again at once with the new cookie (and salt). Only for a
            // new one: a server that keeps refusing the same cookie is answered by the retry
            // timer, never in a tight loop.
            if (channel_.server_key() && !channel_.tentative() &&
                !crypto::equal(envelope.server_key, *channel_.server_key())) {
                ++foreign_challenges_;  // not the server we pinned (or first met)
                last_drop_ = Drop::unauthenticated;
                return {};
            }
            const bool registering = phase_ == Phase::registering;
            const auto outcome = channel_.on_challenge(envelope, registering);
            if (outcome == SignalChannel::ChallengeOutcome::ignored) {
                if (!registering)
                    held_challenge_ = envelope;  // taken if our refresh stays unanswered
                return {};
            }
            ++challenges_;
            on_ticket_ = false;  // on today's path from here (§6 step 1)
            if (!registering && cookie_asked_ &&
                outcome == SignalChannel::ChallengeOutcome::new_cookie) {
                cookie_asked_ = false;  // the answer to renew_cookie(): our name is fine as it is
                return {};
            }
            send_register(now, out);
            return {};
        }
        case EnvelopeType::version_refused:
            // The server speaks another version. It travels in clear, so anyone could send it:
            // it is noted while registering and explains the failure if no Challenge comes.
            note_version_refused();
            return {};
        case EnvelopeType::server_sealed: {
            Message message;
            switch (channel_.open(envelope, scratch_, message)) {
                case SignalChannel::OpenError::none:
                    return on_message(message, now, out);
                case SignalChannel::OpenError::unauthenticated:
                    last_drop_ = Drop::unauthenticated;
                    return {};
                case SignalChannel::OpenError::replayed:
                    last_drop_ = Drop::replayed;
                    return {};
                case SignalChannel::OpenError::malformed:
                    last_drop_ = Drop::malformed;
                    return {};
            }
            return {};
        }
        default:
            last_drop_ = Drop::unexpected;
            return {};
    }
}

RendezvousClient::Signal RendezvousClient::on_message(const Message& message, TimePoint now,
                                                      RawOutbox& out) {
    if (const auto* ack = std::get_if<RegisterAck>(&message)) {
        if (ack->instance != instance_) {
            last_drop_ = Drop::unexpected;
            return {};
        }
        public_ = ack->observed;
        if (ack->refresh_ms > 0) refresh_ = Duration(ack->refresh_ms);
        register_answered_ = true;
        held_challenge_.reset();
        const bool first = phase_ == Phase::registering;
        if (first) resumed_registration_ = on_ticket_;
        on_ticket_ = false;
        phase_ = Phase::registered;
        // Don't wait for the next retry; unless the request rode with the Register, and its
        // answer follows this ack (or came before it, and was dropped: ask for it again).
        if (first && !wanted_.empty() && (!request_pipelined_ || introduction_early_))
            send_request(now, out);
        introduction_early_ = false;
        return {first ? Kind::registered : Kind::none, Error::none};
    }
    if (const auto* err = std::get_if<RegisterError>(&message)) {
        if (err->instance != instance_) {
            last_drop_ = Drop::unexpected;
            return {};
        }
        switch (err->code) {
            case RegisterErrorCode::not_registered:
                if (request_pipelined_) {
                    // Our request overtook its Register on the way: nothing is wrong with the
                    // registration. Ask again once registered (at the RegisterAck), or now.
                    request_pipelined_ = false;
                    if (phase_ == Phase::registering) {
                        request_sent_ = false;
                    } else if (!wanted_.empty()) {
                        send_request(now, out);
                    }
                    return {};
                }
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
            case RegisterErrorCode::name_owned:
                phase_ = Phase::failed;
                return {Kind::failed, Error::name_owned};
        }
        return {};
    }
    if (const auto* unknown = std::get_if<PeerUnknown>(&message)) {
        if (!wanted_.empty() && unknown->peer == wanted_) request_pipelined_ = false;
        if (wanted_.empty() || unknown->peer != wanted_ || offline_reported_) return {};
        offline_reported_ = true;
        return {Kind::peer_offline, Error::none};
    }
    if (const auto* intro = std::get_if<Introduction>(&message)) {
        if (phase_ != Phase::registered) {
            introduction_early_ = phase_ == Phase::registering;
            last_drop_ = Drop::unexpected;
            return {};
        }
        intro_ = *intro;
        request_pipelined_ = false;
        return {Kind::introduced, Error::none};
    }
    if (const auto* asked = std::get_if<IntroductionAsked>(&message)) {
        if (phase_ != Phase::registered) {
            last_drop_ = Drop::unexpected;
            return {};
        }
        asker_ = asked->peer;
        return {Kind::asked, Error::none};
    }
    if (const auto* relay = std::get_if<PeerRelay>(&message)) {
        relay_ = *relay;
        return {Kind::peer_relay, Error::none};
    }
    if (const auto* fresh = std::get_if<RelayCredentials>(&message)) {
        credentials_ = *fresh;
        return {Kind::relay_credentials, Error::none};
    }
    if (const auto* members = std::get_if<PartyMembers>(&message)) {
        members_ = *members;
        return {Kind::party_members, Error::none};
    }
    if (const auto* refused = std::get_if<PartyRefused>(&message)) {
        refused_ = *refused;
        return {Kind::party_refused, Error::none};
    }
    if (const auto* asked = std::get_if<PartyJoinAsked>(&message)) {
        join_asked_ = *asked;
        return {Kind::party_join_asked, Error::none};
    }
    last_drop_ = Drop::unexpected;
    return {};
}

void RendezvousClient::unregister(RawOutbox& out) {
    if (phase_ == Phase::registered || phase_ == Phase::registering)
        send(Unregister{instance_}, out);
    phase_ = Phase::idle;
}

}  // namespace netcore::detail
