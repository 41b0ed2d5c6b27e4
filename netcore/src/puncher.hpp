// Hole punching (PROTOCOL.md §6): paced, token-checked probes to every candidate address
// of the peer; every valid probe is answered at the address it came from, which also teaches
// us the peer's port behind a symmetric NAT (a peer-reflexive candidate). The peer's TURN relay
// is one more candidate (Path::relay); the session decides which acknowledged path to use.
//
// No reflection (issue 11, docs/SECURITY.md "Reflection"): the addresses come from the peer, so
// whoever registered under that name chose them. LAN candidates outside the LAN ranges
// (lan_candidate()) are ignored; LAN candidates are probed for kLanProbeWindow only unless one
// answers; and a side that did not ask for the peer sends, until it hears the peer, one probe
// per Introduction it received, to the public address the server saw the requester at.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "netcore/protocol.hpp"
#include "netcore/session.hpp"
#include "outbox.hpp"

namespace netcore::detail {

class Puncher {
  public:
    /// Candidates held at most, of every kind: the introduction's (public and LAN), the relay
    /// and the peer-reflexive ones learned from probes. When full, add() takes no more, and
    /// learn() replaces the oldest learned one that is not the relay nor the one it keeps.
    static constexpr std::size_t kMaxCandidates = 8;
    /// Probes a side that did not ask for the peer may send per Introduction received, until it
    /// hears the peer. One probe (95 bytes) is less than the smallest IntroduceRequest that
    /// made the server send the Introduction (89 bytes + its name): at most 1.07x what the
    /// requester sent. One is enough: it opens our own NAT towards the requester, whose probes
    /// (it asked, so it probes at the full pace) then get through, and the peer is heard. A
    /// requester that has not heard us reminds the server every Config::request_retry, and each
    /// reminder brings one more Introduction.
    static constexpr std::uint32_t kUnheardProbesPerIntroduction = 1;
    /// LAN candidates are probed for this long from the start of the punch; after it only those
    /// that answered (milliseconds). Two machines on one LAN answer within a few round trips;
    /// a LAN address that does not is not the peer's.
    static constexpr Duration kLanProbeWindow{2000};

    struct Candidate {
        Address address;
        Path kind = Path::direct;
        bool heard = false;  ///< a Probe or ProbeAck with our token came from it
        bool acked = false;  ///< one of our probes to it was acknowledged
        std::optional<Duration> rtt;
        std::uint32_t probe_sequence = 0;  ///< the highest sequence of a probe from it
        std::uint32_t ack_sequence = 0;    ///< the highest sequence acknowledged from it
        std::uint32_t open_after = 0;      ///< only an acknowledgement of a later round opens it
    };

    /// `asked`: we asked for this peer. Otherwise (an open host, a name on our accept list)
    /// we probe at the full pace only once the peer was heard.
    void begin(const protocol::Introduction& intro, TimePoint now, bool asked = true);
    /// The server sent this introduction again (the requester reminded it): one more
    /// kUnheardProbesPerIntroduction while the peer is still unheard.
    void reintroduced();
    void end() { active_ = false; }
    [[nodiscard]] bool active() const { return active_; }

    /// The peer's TURN relayed address: probed like the others, after them.
    void add_relay(Address relayed) { add(relayed, Path::relay); }

    /// Which candidates a round of probes goes to.
    enum class Targets {
        all,
        no_relay,    ///< lan and direct: a relayed session looking for a direct path
        relay_only,  ///< Config::relay_only
    };
    /// Sends a round of probes when one is due.
    void update(TimePoint now, Duration interval, Outbox& out, Targets targets = Targets::all);
    /// Sends a round of probes now (a connected session keeps its own timers: docs/PATHS.md).
    void round(TimePoint now, Outbox& out, Targets targets);
    /// Sends one probe to `address` now (validating an address the peer's traffic came from).
    void probe(Address address, TimePoint now, Outbox& out);

    /// Lets the next acknowledgement of every candidate (or of `address`) count as opening it
    /// again (handle_ack returns it): a connected session whose path went silent asks which
    /// paths work now, not which ever did.
    void reopen();
    void reopen(Address address);
    /// Adds an address an authenticated datagram of the peer came from (its NAT rebound, or it
    /// changed networks). When the list is full, the oldest learned address that is not
    /// `keep` gives way: a peer that rebinds again and again must not lock us out of its newest.
    void learn(Address address, Address keep);

    /// Answers a probe carrying our token and learns its source. False if not for us, or a
    /// replay: the peer numbers its rounds, and a probe from an address is answered only when
    /// its sequence is newer than the last answered from there (one copy per round).
    bool handle_probe(const protocol::Probe& probe, Address from, Outbox& out);

    /// True when `ack` acknowledges one of our last rounds, newer than any acknowledged from
    /// `from` before: a copy replayed, or one of a round long gone, is not.
    [[nodiscard]] bool fresh(const protocol::ProbeAck& ack, Address from) const;
    /// Returns the candidate when this is the first acknowledgement from it (since reopen()):
    /// a path that works both ways. Later acknowledgements from the same address return
    /// nothing. Call fresh() first.
    std::optional<Candidate> handle_ack(const protocol::ProbeAck& ack, Address from, TimePoint now);

    /// The smallest round-trip time a probe measured, if any was acknowledged.
    [[nodiscard]] std::optional<Duration> rtt() const { return rtt_; }
    /// The smallest round-trip time measured to one address, else rtt().
    [[nodiscard]] std::optional<Duration> rtt_of(Address address) const;
    /// True once the peer was heard (a Probe or ProbeAck with our token).
    [[nodiscard]] bool heard_from_peer() const { return probes_received_ > 0 || got_through_; }

    /// The kind of path `address` is, and whether it is one of the peer's candidates.
    [[nodiscard]] Path path_of(Address address) const;
    [[nodiscard]] bool knows(Address address) const;
    /// The candidate at `address`, if it is one.
    [[nodiscard]] const Candidate* candidate(Address address) const { return find(address); }
    /// True when the peer proved it is at `address` (it sent our token from there).
    [[nodiscard]] bool verified(Address address) const;

    [[nodiscard]] std::uint64_t token() const { return token_; }
    [[nodiscard]] protocol::Role role() const { return role_; }
    [[nodiscard]] const std::string& peer() const { return peer_; }
    [[nodiscard]] TimePoint started() const { return started_; }
    [[nodiscard]] std::uint32_t probes_sent() const { return probes_sent_; }
    [[nodiscard]] std::uint32_t probes_received() const { return probes_received_; }
    /// The introduction's LAN candidates that were outside the LAN ranges, ignored.
    [[nodiscard]] std::uint32_t lan_ignored() const { return lan_ignored_; }

  private:
    [[nodiscard]] const Candidate* find(Address address) const;
    Candidate* find(Address address);
    void add(Address address, Path kind);

    // Whether a round may send to `c` now (the LAN window, and the budget before the peer
    // was heard).
    [[nodiscard]] bool may_probe(const Candidate& c, TimePoint now) const;

    bool active_ = false;
    bool asked_ = true;
    std::size_t introduced_ = 0;        // candidates from the introduction (never evicted)
    Address requester_;                 // the public address the server saw the peer at
    std::uint32_t unheard_budget_ = 0;  // probes left before the peer is heard (not asked_)
    bool got_through_ = false;
    std::uint64_t token_ = 0;
    protocol::Role role_ = protocol::Role::responder;
    std::string peer_;
    std::vector<Candidate> candidates_;
    TimePoint started_{};
    TimePoint next_round_{};
    std::uint32_t sequence_ = 0;
    // When each of the last rounds went out, by sequence, to time their acknowledgements.
    std::array<TimePoint, 16> round_sent_{};
    std::optional<Duration> rtt_;
    std::uint32_t probes_sent_ = 0;
    std::uint32_t probes_received_ = 0;
    std::uint32_t lan_ignored_ = 0;
};

}  // namespace netcore::detail
