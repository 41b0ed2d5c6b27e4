// The client side of the rendezvous protocol (PROTOCOL.md §6): register with retries, refresh
// inside the NAT's UDP timeout, ask for a peer until it comes online or the wait runs out. All of
// it over the sealed signal channel (§11.2): only Hello goes out in clear, and only a Challenge
// or VersionRefused is read in clear; everything else from the server must open first.
#pragma once

#include <optional>
#include <string>

#include "netcore/protocol.hpp"
#include "netcore/session.hpp"
#include "outbox.hpp"
#include "signal_channel.hpp"

namespace netcore::detail {

class RendezvousClient {
  public:
    enum class Phase { idle, registering, registered, failed };

    /// What the session needs to know from one step.
    struct Signal {
        enum class Kind {
            none,
            registered,         ///< first RegisterAck: public_address() is known
            peer_offline,       ///< first PeerUnknown for the current request
            introduced,         ///< an Introduction (see introduction())
            peer_relay,         ///< a PeerRelay (see peer_relay())
            relay_credentials,  ///< a RelayCredentials (see relay_credentials())
            failed,             ///< registration failed for good: error
            request_failed,     ///< the wait for the peer ran out
            asked,              ///< an IntroductionAsked: asker() asked for us, not consented yet
            party_members,      ///< a PartyMembers (see party_members())
            party_refused,      ///< a PartyRefused (see party_refused())
            party_join_asked,   ///< a PartyJoinAsked (see party_join_asked())
        };
        Kind kind = Kind::none;
        Error error = Error::none;
    };

    /// Why a datagram from the server's address was dropped (counted by the session).
    enum class Drop { none, unauthenticated, replayed, malformed, unexpected };

    RendezvousClient(const Config& config, std::uint64_t instance, protocol::AddressList lan);

    void start(TimePoint now, RawOutbox& out);
    Signal update(TimePoint now, RawOutbox& out);
    /// An envelope that came from the server's address (the session checks that first).
    Signal handle(const protocol::Envelope& envelope, TimePoint now, RawOutbox& out);
    /// Why the last handle() dropped what it was given, if it did.
    [[nodiscard]] Drop last_drop() const { return last_drop_; }

    /// A datagram of another wire version came from the server's address, or it refused ours:
    /// while registering, registration then fails with version_mismatch (not at once: anyone
    /// can send one in clear).
    void note_version_refused() {
        if (phase_ == Phase::registering)
            version_refused_ = true;
        else
            last_drop_ = Drop::unexpected;
    }

    /// An ICMP error said that nothing listens where a datagram we sent to `destination` went
    /// (port unreachable). Counted only while registering and only for the server's address:
    /// once it came for kRefusedAttempts of our Register attempts, update() fails registration
    /// with server_unreachable and refused() says why. ICMP travels unauthenticated, so one
    /// forged error must not end a registration; once registered they are ignored.
    void note_port_unreachable(Address destination);
    /// Registration failed because the server's port refused (see note_port_unreachable).
    [[nodiscard]] bool refused() const { return refused_attempts_ >= kRefusedAttempts; }
    /// Register attempts (Hello or Register, one per register_retry) that must each draw a
    /// port unreachable before registration fails on it: 2 is 0.5 s with the default retry,
    /// against 5 s of register_timeout, and a forger must follow our retries to cut it short.
    static constexpr std::uint32_t kRefusedAttempts = 2;

    /// Sends one signal to the server, sealed (IntroduceRequest, RelayOffer...). False when the
    /// channel has no key yet.
    bool send(const protocol::Message& message, RawOutbox& out);

    /// Starts asking for `peer`: sent as soon as we are registered, or, while registering,
    /// right behind each sealed Register (PROTOCOL.md §6 step 3). With `out`, and a sealed
    /// Register already out and unanswered, the request follows it at once.
    void request(std::string_view peer, Duration wait, TimePoint now, RawOutbox* out = nullptr);
    void cancel_request() { wanted_.clear(); }
    /// Asks for `peer` again (at most every request_retry) after the introduction arrived, so
    /// that the server re-sends it to a peer that may have lost its copy.
    /// True when it was sent (not too soon after the last request or reminder).
    bool remind(std::string_view peer, TimePoint now, RawOutbox& out);
    [[nodiscard]] const std::string& wanted() const { return wanted_; }

    void unregister(RawOutbox& out);

    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] std::uint64_t instance() const { return instance_; }
    [[nodiscard]] Address public_address() const { return public_; }
    [[nodiscard]] std::uint32_t registrations_sent() const { return registrations_sent_; }
    [[nodiscard]] const SignalChannel& channel() const { return channel_; }
    /// Challenges taken (keys made or cookie renewed from them).
    [[nodiscard]] std::uint32_t challenges() const { return challenges_; }
    /// Registered on Config::resume's ticket, without taking a Challenge.
    [[nodiscard]] bool resumed() const { return resumed_registration_; }
    /// The ticket for the next run (Config::resume), once registered.
    [[nodiscard]] std::optional<ResumeTicket> ticket() const;
    /// Asks for a fresh cookie for the ticket: one Hello (70 bytes), whose Challenge (70 bytes)
    /// renews the cookie and nothing else. False when not registered.
    bool renew_cookie(RawOutbox& out);
    /// Challenges whose server key was not the pinned one (a sign of the wrong server key).
    [[nodiscard]] std::uint32_t foreign_challenges() const { return foreign_challenges_; }
    /// Valid after a Signal::Kind::introduced, until the next handle(); names view the datagram.
    [[nodiscard]] const protocol::Introduction& introduction() const { return intro_; }
    /// After a Signal::Kind::asked: who asked.
    [[nodiscard]] const std::string& asker() const { return asker_; }
    /// Valid after a Signal::Kind::peer_relay, until the next handle().
    [[nodiscard]] const protocol::PeerRelay& peer_relay() const { return relay_; }
    /// Valid after the party signals, until the next handle(); they view the datagram.
    [[nodiscard]] const protocol::PartyMembers& party_members() const { return members_; }
    [[nodiscard]] const protocol::PartyRefused& party_refused() const { return refused_; }
    [[nodiscard]] const protocol::PartyJoinAsked& party_join_asked() const { return join_asked_; }
    /// Valid after a Signal::Kind::relay_credentials, until the next handle(); views the datagram.
    [[nodiscard]] const protocol::RelayCredentials& relay_credentials() const {
        return credentials_;
    }

  private:
    void send_register(TimePoint now, RawOutbox& out);
    /// Sets `owned`, `owner` and `proof` when Config::name_key is set (PROTOCOL.md §4.13).
    void prove_owner(protocol::RegisterRequest& reg);
    void send_request(TimePoint now, RawOutbox& out);
    Signal on_message(const protocol::Message& message, TimePoint now, RawOutbox& out);

    const Config& config_;
    std::uint64_t instance_;
    protocol::AddressList lan_;
    SignalChannel channel_;
    Phase phase_ = Phase::idle;
    Address public_;
    TimePoint first_register_{};
    TimePoint last_register_{};
    bool register_answered_ = false;  // the last Register got its RegisterAck
    // A Challenge with a new salt that came while we held a working key: taken only if our own
    // Register then stays unanswered (a forged Challenge must not move us off a working key).
    std::optional<protocol::Envelope> held_challenge_;
    Duration refresh_{15000};  // until the server says otherwise in RegisterAck
    std::uint32_t registrations_sent_ = 0;
    std::uint32_t foreign_challenges_ = 0;
    std::uint32_t challenges_ = 0;
    // Keyed from Config::resume and no Challenge taken since: retries add a Hello, in case the
    // ticket's key or salt is not the server's (a Register that does not open is not answered).
    bool on_ticket_ = false;
    bool resumed_registration_ = false;  // the first RegisterAck came while on_ticket_
    bool cookie_asked_ = false;          // renew_cookie() sent a Hello: its Challenge is awaited
    bool version_refused_ = false;
    std::uint32_t refused_attempts_ = 0;  // Register attempts that drew a port unreachable
    std::uint32_t refused_attempt_ = 0;   // the last one counted (its registrations_sent_)

    std::string wanted_;
    TimePoint wait_deadline_{};
    TimePoint last_request_{};
    bool request_sent_ = false;
    bool offline_reported_ = false;
    // The last request went out right behind a Register, while registering: its answer may be
    // a not_registered when it overtook that Register (UDP may reorder), which means "ask
    // again once registered", not "the server forgot us".
    bool request_pipelined_ = false;
    // An Introduction came before our first RegisterAck (the answers crossed on the way): it
    // was dropped, and the request goes again at the ack rather than at the next retry.
    bool introduction_early_ = false;

    // The owner key of our name (Config::name_key), and the proof for the salt it was made for:
    // one signature per server run, not one per refresh.
    std::optional<crypto::SignKeyPair> owner_;
    protocol::OwnerProof proof_{};
    protocol::Salt proof_salt_{};
    PublicKey proof_server_{};
    bool proof_made_ = false;

    Drop last_drop_ = Drop::none;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch_{};  // opened signals live here
    protocol::Introduction intro_;
    protocol::PeerRelay relay_;
    std::string asker_;
    protocol::RelayCredentials credentials_;
    protocol::PartyMembers members_;
    protocol::PartyRefused refused_;
    protocol::PartyJoinAsked join_asked_;
};

}  // namespace netcore::detail
