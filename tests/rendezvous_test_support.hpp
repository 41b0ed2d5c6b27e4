// Shared helpers for the rendezvous tests: a Server driven through handle() with stepped time,
// and clients that speak wire version 2 through netcore's own SignalChannel (PROTOCOL.md §11.2).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "crypto.hpp"
#include "netcore/protocol.hpp"
#include "server.hpp"
#include "signal_channel.hpp"

namespace rendezvous::testing {

namespace protocol = netcore::protocol;
using netcore::detail::SignalChannel;

/// One datagram the server wanted sent, kept with its bytes. A server_sealed one is opened when
/// it is collected, by the channel of the client at its address: `plain` is then its plaintext.
struct Sent {
    netcore::Address to;
    std::vector<std::uint8_t> bytes;
    std::vector<std::uint8_t> plain;  ///< the opened box (type byte and body), if it opened
    SignalChannel::OpenError opened = SignalChannel::OpenError::unauthenticated;

    [[nodiscard]] protocol::EnvelopeType type() const {
        protocol::Envelope e;
        REQUIRE(protocol::decode_envelope(bytes, e) == protocol::DecodeError::ok);
        return e.type;
    }
    [[nodiscard]] bool is_challenge() const {
        protocol::Envelope e;
        return protocol::decode_envelope(bytes, e) == protocol::DecodeError::ok &&
               e.type == protocol::EnvelopeType::challenge;
    }
    /// The clear Challenge this is (its spans view nothing: a Challenge has no box).
    [[nodiscard]] protocol::Envelope challenge() const {
        protocol::Envelope e;
        REQUIRE(protocol::decode_envelope(bytes, e) == protocol::DecodeError::ok);
        REQUIRE(e.type == protocol::EnvelopeType::challenge);
        e.ad = {};
        return e;
    }
    /// The sealed Message this carries, opened by its recipient's channel. Names view `plain`.
    template <typename T>
    [[nodiscard]] T as() const {
        REQUIRE(opened == SignalChannel::OpenError::none);
        protocol::Message m;
        REQUIRE(protocol::decode_inner(plain, m) == protocol::DecodeError::ok);
        REQUIRE(std::holds_alternative<T>(m));
        return std::get<T>(m);
    }
};

/// Opens `bytes` (if server_sealed) with `channel` (if any) into a Sent.
inline Sent collect(netcore::Address to, std::span<const std::uint8_t> bytes,
                    SignalChannel* channel) {
    Sent s{to, {bytes.begin(), bytes.end()}, {}, SignalChannel::OpenError::unauthenticated};
    protocol::Envelope e;
    if (channel == nullptr || protocol::decode_envelope(s.bytes, e) != protocol::DecodeError::ok ||
        e.type != protocol::EnvelopeType::server_sealed)
        return s;
    std::vector<std::uint8_t> scratch(protocol::kMaxDatagramSize);
    protocol::Message m;
    s.opened = channel->open(e, scratch, m);
    if (s.opened == SignalChannel::OpenError::none)
        s.plain.assign(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(
                                                              e.box.size() - protocol::kTagSize));
    return s;
}

/// Encodes a Message for a box, failing the test if it does not encode.
inline std::vector<std::uint8_t> inner_bytes(const protocol::Message& m) {
    std::vector<std::uint8_t> out(protocol::kMaxDatagramSize);
    const auto n = protocol::encode_inner(m, out);
    REQUIRE(n > 0);
    out.resize(n);
    return out;
}

/// A client_sealed datagram made by hand: any key, cookie, counter and plaintext, for the tests
/// that play a forger or send a cookie the channel would not.
inline std::vector<std::uint8_t> hand_sealed(const netcore::crypto::SymmetricKey& key,
                                             const netcore::PublicKey& client_key,
                                             const protocol::Cookie& cookie, std::uint64_t counter,
                                             std::span<const std::uint8_t> plaintext) {
    std::vector<std::uint8_t> out(protocol::kMaxDatagramSize);
    const auto head = protocol::encode_client_sealed_head(client_key, cookie, counter, out);
    REQUIRE(head > 0);
    const auto box =
        netcore::crypto::seal(key, netcore::crypto::kFromClient, counter,
                              std::span(out).first(head), plaintext, std::span(out).subspan(head));
    REQUIRE(box > 0);
    out.resize(head + box);
    return out;
}

/// The bytes of a Hello from `channel`.
inline std::vector<std::uint8_t> hello_bytes(const SignalChannel& channel) {
    std::vector<std::uint8_t> out(protocol::kHelloSize);
    REQUIRE(channel.hello(out) == protocol::kHelloSize);
    return out;
}

/// The instance a client message carries, or 0 for messages without one.
inline std::uint64_t instance_of(const protocol::Message& m) {
    if (const auto* r = std::get_if<protocol::RegisterRequest>(&m)) return r->instance;
    if (const auto* i = std::get_if<protocol::IntroduceRequest>(&m)) return i->instance;
    if (const auto* u = std::get_if<protocol::Unregister>(&m)) return u->instance;
    if (const auto* o = std::get_if<protocol::RelayOffer>(&m)) return o->instance;
    if (const auto* w = std::get_if<protocol::RelayRenew>(&m)) return w->instance;
    if (const auto* j = std::get_if<protocol::PartyJoin>(&m)) return j->instance;
    if (const auto* l = std::get_if<protocol::PartyLeave>(&m)) return l->instance;
    if (const auto* a = std::get_if<protocol::PartyAdmit>(&m)) return a->instance;
    return 0;
}

/// An Introduction that owns its peer name, so it outlives the datagram it was decoded from.
struct OwnedIntroduction {
    std::uint64_t token = 0;
    protocol::Role role = protocol::Role::responder;
    std::string peer;
    netcore::Address peer_public;
    protocol::AddressList peer_lan;
    netcore::PublicKey peer_key{};

    explicit OwnedIntroduction(const protocol::Introduction& m)
        : token(m.token),
          role(m.role),
          peer(m.peer),
          peer_public(m.peer_public),
          peer_lan(m.peer_lan),
          peer_key(m.peer_key) {}
    friend bool operator==(const OwnedIntroduction&, const OwnedIntroduction&) = default;
};

/// A Server with a debug-level log captured in memory, a clock the test steps, and clients.
///
/// Each client run (an instance: kAliceRun, kBobRun...) has one SignalChannel, pinned to the
/// server's key, used from whatever address the test sends from; each address remembers the
/// channel that last sent from it, which opens what the server sends there.
struct Harness {
    explicit Harness(Config c = {})
        : server(c, Log(LogLevel::debug,
                        [this](LogLevel, std::string_view line) { log.emplace_back(line); })) {}

    /// The channel of client run `run`, made on first use (not yet keyed: no Hello sent).
    SignalChannel& channel(std::uint64_t run) {
        auto& c = channels[run];
        if (!c) c = std::make_unique<SignalChannel>(server.public_key());
        return *c;
    }
    /// Makes `run`'s channel open what the server sends to `at` from now on.
    void opens_at(netcore::Address at, std::uint64_t run) { opener[key_of(at)] = &channel(run); }

    /// Handles raw bytes from `from` at the current time; returns what the server would send,
    /// sealed answers opened by the channel each address last sent from.
    std::vector<Sent> raw(netcore::Address from, std::span<const std::uint8_t> datagram) {
        Outbox out;
        server.handle(datagram, from, now, out);
        std::vector<Sent> sent;
        for (const auto& d : out.datagrams()) {
            const auto it = opener.find(key_of(d.to));
            sent.push_back(collect(d.to, d.view(), it == opener.end() ? nullptr : it->second));
        }
        return sent;
    }

    /// Sends `run`'s Hello from `from` and takes the Challenge (as a client while registering:
    /// a new salt is accepted). Returns the Challenge.
    Sent hello(netcore::Address from, std::uint64_t run) {
        auto& c = channel(run);
        opens_at(from, run);
        const auto answer = raw(from, hello_bytes(c));
        REQUIRE(answer.size() == 1);
        REQUIRE(answer[0].to == from);
        REQUIRE(answer[0].bytes.size() == protocol::kChallengeSize);
        const auto challenge = answer[0].challenge();
        CHECK(c.on_challenge(challenge, true) != SignalChannel::ChallengeOutcome::ignored);
        return answer[0];
    }

    /// `m` sealed by `run`'s channel (keyed first with a Hello from `from` if need be), not sent.
    std::vector<std::uint8_t> sealed(netcore::Address from, std::uint64_t run,
                                     const protocol::Message& m) {
        if (!channel(run).keyed()) hello(from, run);
        opens_at(from, run);
        std::vector<std::uint8_t> out(protocol::kMaxDatagramSize);
        const auto n = channel(run).seal(m, out);
        REQUIRE(n > 0);
        out.resize(n);
        return out;
    }
    std::vector<std::uint8_t> sealed(netcore::Address from, const protocol::Message& m) {
        return sealed(from, instance_of(m), m);
    }

    /// Sends `m` from `from` as client run `run` does: a Hello first if its channel has no key
    /// yet, then `m` sealed; a Challenge in answer (a cookie from elsewhere, or expired) is taken
    /// and `m` sealed and sent once more. Returns the answer to the last send. Use raw() and
    /// sealed() to see a Challenge itself.
    std::vector<Sent> send_as(netcore::Address from, std::uint64_t run,
                              const protocol::Message& m) {
        auto answer = raw(from, sealed(from, run, m));
        if (answer.size() == 1 && answer[0].is_challenge() && answer[0].to == from &&
            channel(run).on_challenge(answer[0].challenge(), false) ==
                SignalChannel::ChallengeOutcome::new_cookie) {
            ++rechallenged;
            answer = raw(from, sealed(from, run, m));
        }
        return answer;
    }
    /// As send_as(), by the run whose instance `m` carries (run 0 for messages without one).
    std::vector<Sent> send(netcore::Address from, const protocol::Message& m) {
        return send_as(from, instance_of(m), m);
    }

    /// Sends a RegisterRequest and requires a RegisterAck back. Open hosts by default, like the
    /// loopback Lab's nodes: most tests have one side ask; consent has test_consent.cpp.
    protocol::RegisterAck registered(netcore::Address from, std::uint64_t instance,
                                     std::string_view name, protocol::AddressList lan = {},
                                     std::uint8_t flags = protocol::RegisterFlags::open) {
        const auto sent = send(from, protocol::RegisterRequest{instance, name, lan, flags});
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].to == from);
        return sent[0].as<protocol::RegisterAck>();
    }

    /// The signal key `run`'s channel shares with the server (for hand_sealed()).
    netcore::crypto::SymmetricKey signal_key(std::uint64_t run, const protocol::Salt& salt) {
        namespace crypto = netcore::crypto;
        crypto::SymmetricKey shared{};
        REQUIRE(crypto::agree(channel(run).key_pair().secret_key, server.public_key(), shared));
        return crypto::signal_key(shared, channel(run).key_pair().public_key, server.public_key(),
                                  salt);
    }

    static std::uint64_t key_of(netcore::Address a) { return (std::uint64_t{a.ip} << 16) | a.port; }
    void advance(std::chrono::milliseconds d) { now += d; }
    [[nodiscard]] bool logged(std::string_view line) const {
        for (const auto& l : log)
            if (l == line) return true;
        return false;
    }

    std::vector<std::string> log;  // declared before `server`, whose sink writes into it
    Server server;
    TimePoint now = TimePoint{} + std::chrono::hours(1);
    std::map<std::uint64_t, std::unique_ptr<SignalChannel>> channels;
    std::map<std::uint64_t, SignalChannel*> opener;  // by key_of(address)
    int rechallenged = 0;  ///< sends that met a Challenge and were sent again with its cookie
};

// The cast of the server tests: three clients at documentation addresses, each with the
// instance number of its run.
inline const netcore::Address kAlice{0xCB007107u, 5000};  // 203.0.113.7:5000
inline const netcore::Address kBob{0xC6336409u, 6000};    // 198.51.100.9:6000
inline const netcore::Address kCarol{0xCB007108u, 6000};  // 203.0.113.8:6000
inline constexpr std::uint64_t kAliceRun = 0xA11CE;
inline constexpr std::uint64_t kBobRun = 0xB0B;
inline constexpr std::uint64_t kCarolRun = 0xCA201;

// The TURN servers the relay tests' rendezvous grants, and their TURN-REST secret. Credentials
// expire at kExpiry (1800000000, 2027-01-15): the test clock reads the default TTL before.
inline const netcore::Address kTurn1{0xCB00710Au, 3478};  // 203.0.113.10:3478
inline const netcore::Address kTurn2{0xCB00710Bu, 3479};  // 203.0.113.11:3479
inline constexpr const char* kSecret = "netcore-turn-test-secret";
inline constexpr std::int64_t kExpiry = 1800000000;
inline constexpr std::int64_t kClock = kExpiry - 600;
// printf '%s' "1800000000:alice" | openssl dgst -sha1 -hmac "netcore-turn-test-secret" -binary |
// base64
inline constexpr const char* kAlicePassword = "3Y4OI3FaoV6v+DIEPHs64aST96A=";
// printf '%s' "1800000000:bob" | openssl dgst -sha1 -hmac "netcore-turn-test-secret" -binary |
// base64
inline constexpr const char* kBobPassword = "OSxSJVySdHB9spiTZq/bY6qbQB8=";

/// A rendezvous configuration that grants relays on kTurn1 and kTurn2, its clock at kClock, or
/// read from `clock` if given.
inline Config with_turn(const std::int64_t* clock = nullptr) {
    Config c;
    c.turn.servers = {kTurn1, kTurn2};
    c.turn.secret = kSecret;
    if (clock != nullptr) {
        c.turn.unix_clock = [clock] { return *clock; };
    } else {
        c.turn.unix_clock = [] { return kClock; };
    }
    return c;
}

}  // namespace rendezvous::testing
