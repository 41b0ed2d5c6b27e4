// The client side of the rendezvous protocol (PROTOCOL.md §6): register with retries, refresh
// inside the NAT's UDP timeout, ask for a peer until it comes online or the wait runs out.
#pragma once

#include <optional>
#include <string>

#include "netcore/protocol.hpp"
#include "netcore/session.hpp"
#include "outbox.hpp"

namespace netcore::detail {

class RendezvousClient {
  public:
    enum class Phase { idle, registering, registered, failed };

    /// What the session needs to know from one step.
    struct Signal {
        enum class Kind {
            none,
            registered,      ///< first RegisterAck: public_address() is known
            peer_offline,    ///< first PeerUnknown for the current request
            introduced,      ///< an Introduction (see introduction())
            failed,          ///< registration failed for good: error
            request_failed,  ///< the wait for the peer ran out
        };
        Kind kind = Kind::none;
        Error error = Error::none;
    };

    RendezvousClient(const Config& config, std::uint64_t instance, protocol::AddressList lan);

    void start(TimePoint now, Outbox& out);
    Signal update(TimePoint now, Outbox& out);
    /// `from` must be the server's address; the session checks that before calling.
    Signal handle(const protocol::Message& message, TimePoint now, Outbox& out);

    /// Starts asking for `peer` (sent as soon as we are registered).
    void request(std::string_view peer, Duration wait, TimePoint now);
    void cancel_request() { wanted_.clear(); }
    /// Asks for `peer` again (at most every request_retry) after the introduction arrived, so
    /// that the server re-sends it to a peer that may have lost its copy.
    void remind(std::string_view peer, TimePoint now, Outbox& out);
    [[nodiscard]] const std::string& wanted() const { return wanted_; }

    void unregister(Outbox& out);

    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] std::uint64_t instance() const { return instance_; }
    [[nodiscard]] Address public_address() const { return public_; }
    [[nodiscard]] std::uint32_t registrations_sent() const { return registrations_sent_; }
    /// Valid after a Signal::Kind::introduced, until the next handle(); names view the datagram.
    [[nodiscard]] const protocol::Introduction& introduction() const { return intro_; }

  private:
    void send_register(TimePoint now, Outbox& out);
    void send_request(TimePoint now, Outbox& out);

    const Config& config_;
    std::uint64_t instance_;
    protocol::AddressList lan_;
    protocol::Cookie cookie_{};  // from the server's last Challenge; zeros until the first
    Phase phase_ = Phase::idle;
    Address public_;
    TimePoint first_register_{};
    TimePoint last_register_{};
    Duration refresh_{15000};  // until the server says otherwise in RegisterAck
    std::uint32_t registrations_sent_ = 0;

    std::string wanted_;
    TimePoint wait_deadline_{};
    TimePoint last_request_{};
    bool request_sent_ = false;
    bool offline_reported_ = false;

    protocol::Introduction intro_;
};

}  // namespace netcore::detail
