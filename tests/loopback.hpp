// A real rendezvous server and real netcore sessions on 127.0.0.1, stepped in one thread.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "netcore/session.hpp"
#include "server.hpp"

namespace loopback {

/// A session and every event it raised so far.
struct Node {
    std::unique_ptr<netcore::Session> session;
    std::vector<netcore::Event> events;
    bool frozen = false;  ///< stops calling update(): a peer whose path broke

    [[nodiscard]] std::size_t count(netcore::EventType type) const {
        std::size_t n = 0;
        for (const auto& e : events) n += e.type == type;
        return n;
    }
    [[nodiscard]] const netcore::Event* last(netcore::EventType type) const {
        for (auto it = events.rbegin(); it != events.rend(); ++it)
            if (it->type == type) return &*it;
        return nullptr;
    }
    /// Payloads received so far, as strings.
    [[nodiscard]] std::vector<std::string> received() const {
        std::vector<std::string> out;
        for (const auto& e : events)
            if (e.type == netcore::EventType::received)
                out.emplace_back(e.data.begin(), e.data.end());
        return out;
    }
};

inline std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline bool connected(const Node& n) {
    return n.session->state() == netcore::State::connected;
}

class Lab {
  public:
    explicit Lab(rendezvous::Config server_config = {}) : server_(server_config, quiet_log()) {
        std::string error;
        if (!server_.open(netcore::Address{0x7F000001u, 0}, &error))
            throw std::runtime_error("rendezvous did not open: " + error);
    }

    static rendezvous::Log quiet_log() {
        return rendezvous::Log(rendezvous::LogLevel::error, [](auto, auto) {});
    }

    [[nodiscard]] netcore::Address server_address() const {
        return netcore::Address{0x7F000001u, server_.port()};
    }
    rendezvous::Server& server() { return server_; }

    /// Test-friendly timings: fast retries, short timeouts.
    netcore::Config config(const std::string& name) const {
        netcore::Config c;
        c.server = server_address();
        c.server_key = server_.public_key();  // pinned, as a shipped game does
        c.name = name;
        // Open hosts: these tests have one side ask for the other. Consent itself (mutual, the
        // library's default, and list) has its own tests in test_consent.cpp.
        c.consent = netcore::Consent::open;
        c.register_retry = netcore::Duration(100);
        c.register_timeout = netcore::Duration(1500);
        c.request_retry = netcore::Duration(200);
        c.punch_timeout = netcore::Duration(3000);
        c.peer_timeout = netcore::Duration(1500);
        return c;
    }

    Node& add(netcore::Config c, bool start = true) {
        auto& n = nodes_.emplace_back(std::make_unique<Node>());
        n->session = std::make_unique<netcore::Session>(std::move(c));
        if (start) n->session->start();
        return *n;
    }

    /// Called at every step, before the sessions (an attacker's socket, a relay in the middle).
    std::vector<std::function<void()>> each_step;

    /// One frame: the server, then every session that is not frozen.
    void step() {
        const auto now = netcore::Clock::now();
        server_.poll(0, now);
        for (const auto& f : each_step) f();
        for (auto& n : nodes_) {
            if (n->frozen) continue;
            n->session->update(now);
            netcore::Event e;
            while (n->session->poll(e)) n->events.push_back(std::move(e));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }

    /// Steps until `done` or `limit` passes. Returns `done()`.
    bool run_until(const std::function<bool()>& done,
                   std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
        const auto deadline = netcore::Clock::now() + limit;
        while (!done()) {
            if (netcore::Clock::now() > deadline) return false;
            step();
        }
        return true;
    }
    void run_for(std::chrono::milliseconds span) {
        const auto deadline = netcore::Clock::now() + span;
        while (netcore::Clock::now() < deadline) step();
    }

  private:
    rendezvous::Server server_;
    std::vector<std::unique_ptr<Node>> nodes_;
};

/// Alice asks for bob (once bob holds his name); bob asks for alice unless he is an open host
/// (Consent::mutual, the default, introduces only players who asked for each other); both
/// connect within `limit`.
inline void connect_pair(Lab& lab, Node& alice, Node& bob,
                         std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    REQUIRE(lab.run_until([&] { return bob.count(netcore::EventType::registered) == 1; }));
    REQUIRE(alice.session->connect(bob.session->config().name, netcore::Duration(5000)) ==
            netcore::Error::none);
    if (bob.session->config().consent != netcore::Consent::open)
        REQUIRE(bob.session->connect(alice.session->config().name, netcore::Duration(5000)) ==
                netcore::Error::none);
    REQUIRE(lab.run_until([&] { return connected(alice) && connected(bob); }, limit));
}

}  // namespace loopback
