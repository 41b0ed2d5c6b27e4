// Shared helpers for the rendezvous tests: a Server driven through handle() with stepped time.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "netcore/protocol.hpp"
#include "server.hpp"

namespace rendezvous::testing {

namespace protocol = netcore::protocol;

/// Encodes a message, failing the test if it does not encode.
inline std::vector<std::uint8_t> bytes_of(const protocol::Message& m) {
    std::vector<std::uint8_t> out(protocol::kMaxDatagramSize);
    const auto n = protocol::encode(m, out);
    REQUIRE(n > 0);
    out.resize(n);
    return out;
}

/// One datagram the server wanted sent, kept with its bytes so decoded names stay valid.
struct Sent {
    netcore::Address to;
    std::vector<std::uint8_t> bytes;

    template <typename T>
    [[nodiscard]] T as() const {
        protocol::Message m;
        REQUIRE(protocol::decode(bytes, m) == protocol::DecodeError::ok);
        REQUIRE(std::holds_alternative<T>(m));
        return std::get<T>(m);
    }
};

/// An Introduction that owns its peer name, so it outlives the datagram it was decoded from.
struct OwnedIntroduction {
    std::uint64_t token = 0;
    protocol::Role role = protocol::Role::responder;
    std::string peer;
    netcore::Address peer_public;
    protocol::AddressList peer_lan;

    explicit OwnedIntroduction(const protocol::Introduction& m)
        : token(m.token),
          role(m.role),
          peer(m.peer),
          peer_public(m.peer_public),
          peer_lan(m.peer_lan) {}
    friend bool operator==(const OwnedIntroduction&, const OwnedIntroduction&) = default;
};

/// A Server with a debug-level log captured in memory, and a clock the test steps.
struct Harness {
    explicit Harness(Config c = {})
        : server(c, Log(LogLevel::debug,
                        [this](LogLevel, std::string_view line) { log.emplace_back(line); })) {}

    /// Handles raw bytes from `from` at the current time; returns what the server would send.
    std::vector<Sent> raw(netcore::Address from, const std::vector<std::uint8_t>& datagram) {
        Outbox out;
        server.handle(datagram, from, now, out);
        std::vector<Sent> sent;
        for (const auto& d : out.datagrams())
            sent.push_back({d.to, {d.view().begin(), d.view().end()}});
        return sent;
    }
    /// Sends `m` as a client would: a Register without a cookie first fetches one with the
    /// Challenge round trip (PROTOCOL.md §6.1), and what comes back is the answer to the Register
    /// carrying it. Use raw() to see the Challenge itself.
    std::vector<Sent> send(netcore::Address from, const protocol::Message& m) {
        const auto* reg = std::get_if<protocol::RegisterRequest>(&m);
        if (reg == nullptr || reg->cookie != protocol::Cookie{}) return raw(from, bytes_of(m));
        const auto challenged = raw(from, bytes_of(m));
        REQUIRE(challenged.size() == 1);
        auto with_cookie = *reg;
        with_cookie.cookie = challenged[0].as<protocol::Challenge>().cookie;
        return raw(from, bytes_of(with_cookie));
    }
    /// Sends a RegisterRequest and requires a RegisterAck back.
    protocol::RegisterAck registered(netcore::Address from, std::uint64_t instance,
                                     std::string_view name, protocol::AddressList lan = {}) {
        const auto sent = send(from, protocol::RegisterRequest{instance, {}, name, lan});
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].to == from);
        return sent[0].as<protocol::RegisterAck>();
    }
    void advance(std::chrono::milliseconds d) { now += d; }
    [[nodiscard]] bool logged(std::string_view line) const {
        for (const auto& l : log)
            if (l == line) return true;
        return false;
    }

    std::vector<std::string> log;  // declared before `server`, whose sink writes into it
    Server server;
    TimePoint now = TimePoint{} + std::chrono::hours(1);
};

// The cast of the server tests: three clients at documentation addresses, each with the
// instance number of its run.
inline const netcore::Address kAlice{0xCB007107u, 5000};  // 203.0.113.7:5000
inline const netcore::Address kBob{0xC6336409u, 6000};    // 198.51.100.9:6000
inline const netcore::Address kCarol{0xCB007108u, 6000};  // 203.0.113.8:6000
inline constexpr std::uint64_t kAliceRun = 0xA11CE;
inline constexpr std::uint64_t kBobRun = 0xB0B;
inline constexpr std::uint64_t kCarolRun = 0xCA201;

}  // namespace rendezvous::testing
