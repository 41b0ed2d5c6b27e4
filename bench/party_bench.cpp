// bench_party — what joining a party costs, against a two-player session in the same run.
//
// A real rendezvous (rendezvous::Server on 127.0.0.1) and real sessions, each on its own source
// address (127.0.0.10 and up, as players behind their own routers), stepped in one thread at
// about 1 kHz. Prints:
//   - the baseline: a two-player session by name (both connect()), from connect() to connected;
//   - for the 2nd, 4th, 8th and 16th member of a party joined one after the other: the time from
//     its join_party() to "connected to every member", and its ratio to the baseline;
//   - at rest (connected, no game traffic): the bytes each member sends per second, against the
//     two-player session's;
//   - per member: the CPU time its update() takes per second at rest, the server's CPU per
//     member per second, and the resident memory each session adds.
// Usage: bench_party [ROUNDS] [REST_SECONDS]   (defaults 3, 5; the medians of the rounds)
#include <unistd.h>
#include <ctime>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "netcore/session.hpp"
#include "server.hpp"

namespace {

using netcore::Clock;
using Seconds = std::chrono::duration<double>;
constexpr std::uint32_t kFirstIp = 0x7F00000Au;  // 127.0.0.10
constexpr std::array<std::size_t, 4> kMarks = {2, 4, 8, 16};

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// One rendezvous and the sessions of one measurement, with the CPU each side used.
class World {
  public:
    World()
        : server_(server_config(),
                  rendezvous::Log(rendezvous::LogLevel::error, [](auto, auto) {})) {
        std::string error;
        if (!server_.open(netcore::Address{0x7F000001u, 0}, &error)) {
            std::fprintf(stderr, "bench_party: the rendezvous did not open: %s\n", error.c_str());
            std::exit(1);
        }
    }

    static rendezvous::Config server_config() {
        rendezvous::Config c;
        return c;
    }

    netcore::Session& add(int index, netcore::Consent consent = netcore::Consent::mutual) {
        netcore::Config c;
        c.server = {0x7F000001u, server_.port()};
        c.server_key = server_.public_key();
        c.name = "p" + std::to_string(index);
        c.consent = consent;
        c.local_ip = kFirstIp + static_cast<std::uint32_t>(index);
        sessions_.push_back(std::make_unique<netcore::Session>(c));
        sessions_.back()->start();
        return *sessions_.back();
    }

    void step() {
        const auto now = Clock::now();
        double t0 = thread_cpu_seconds();
        server_.poll(0, now);
        double t1 = thread_cpu_seconds();
        server_cpu_ += t1 - t0;
        for (auto& s : sessions_) {
            s->update(now);
            netcore::Event e;
            while (s->poll(e)) {
                if (e.type == netcore::EventType::error)
                    std::fprintf(stderr, "bench_party: %s: %s\n", s->config().name.c_str(),
                                 e.detail.c_str());
            }
        }
        client_cpu_ += thread_cpu_seconds() - t1;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }

    bool run_until(const std::function<bool()>& done, std::chrono::seconds limit) {
        const auto deadline = Clock::now() + limit;
        while (!done()) {
            if (Clock::now() > deadline) return false;
            step();
        }
        return true;
    }

    static std::size_t connected_peers(const netcore::Session& s) {
        const auto peers = s.peers();
        return static_cast<std::size_t>(
            std::count_if(peers.begin(), peers.end(),
                          [](const auto& p) { return p.state == netcore::State::connected; }));
    }

    // Bytes each session sends per second, and CPU per session and of the server per session
    // per second, over `span` of rest.
    struct Rest {
        double bytes_per_second = 0;
        double client_cpu_per_second = 0;
        double server_cpu_per_second = 0;
    };
    Rest rest(Seconds span) {
        std::vector<std::uint64_t> before;
        for (auto& s : sessions_) before.push_back(s->stats().bytes_sent);
        const double client0 = client_cpu_;
        const double server0 = server_cpu_;
        const auto start = Clock::now();
        while (Clock::now() - start < span) step();
        const double elapsed = Seconds(Clock::now() - start).count();
        Rest r;
        const auto n = static_cast<double>(sessions_.size());
        double sent = 0;
        for (std::size_t i = 0; i < sessions_.size(); ++i)
            sent += static_cast<double>(sessions_[i]->stats().bytes_sent - before[i]);
        r.bytes_per_second = sent / n / elapsed;
        r.client_cpu_per_second = (client_cpu_ - client0) / n / elapsed;
        r.server_cpu_per_second = (server_cpu_ - server0) / n / elapsed;
        return r;
    }

    std::vector<std::unique_ptr<netcore::Session>>& sessions() { return sessions_; }

  private:
    rendezvous::Server server_;
    std::vector<std::unique_ptr<netcore::Session>> sessions_;
    double server_cpu_ = 0;
    double client_cpu_ = 0;
};

struct Round {
    double pair_connect = 0;  // seconds
    std::array<double, kMarks.size()> join{};
    World::Rest pair_rest;
    World::Rest party_rest;
    double bytes_per_session = 0;
};

Round one_round(Seconds rest) {
    Round r;
    {
        World w;
        auto& a = w.add(0);
        auto& b = w.add(1);
        w.run_until(
            [&] {
                return a.state() == netcore::State::registered &&
                       b.state() == netcore::State::registered;
            },
            std::chrono::seconds(5));
        const auto start = Clock::now();
        a.connect("p1", netcore::Duration(10000));
        b.connect("p0", netcore::Duration(10000));
        if (!w.run_until(
                [&] { return World::connected_peers(a) == 1 && World::connected_peers(b) == 1; },
                std::chrono::seconds(10))) {
            std::fprintf(stderr, "bench_party: the two-player session did not connect\n");
            std::exit(1);
        }
        r.pair_connect = Seconds(Clock::now() - start).count();
        r.pair_rest = w.rest(rest);
    }
    World w;
    std::size_t mark = 0;
    const std::uint64_t rss0 = resident_bytes();
    for (int i = 0; i < 16; ++i) {
        auto& s = w.add(i);
        w.run_until([&] { return s.state() == netcore::State::registered; },
                    std::chrono::seconds(5));
        const auto start = Clock::now();
        s.join_party("bench");
        const auto want = static_cast<std::size_t>(i);
        if (!w.run_until(
                [&] {
                    for (auto& other : w.sessions())
                        if (World::connected_peers(*other) < want) return false;
                    return true;
                },
                std::chrono::seconds(30))) {
            std::fprintf(stderr, "bench_party: member %d did not connect to every member\n", i + 1);
            std::exit(1);
        }
        if (mark < kMarks.size() && static_cast<std::size_t>(i + 1) == kMarks[mark])
            r.join[mark++] = Seconds(Clock::now() - start).count();
    }
    r.bytes_per_session = static_cast<double>(resident_bytes() - rss0) / 16.0;
    r.party_rest = w.rest(rest);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
    const double rest = argc > 2 ? std::atof(argv[2]) : 5.0;
    if (rounds < 1 || rest <= 0) {
        std::fprintf(stderr, "bench_party: need ROUNDS >= 1 and REST_SECONDS > 0\n");
        return 2;
    }
    std::vector<Round> all;
    for (int i = 0; i < rounds; ++i) all.push_back(one_round(Seconds(rest)));
    auto med = [&](auto field) {
        std::vector<double> v;
        for (const auto& r : all) v.push_back(field(r));
        return median(v);
    };
    const double pair = med([](const Round& r) { return r.pair_connect; });
    std::printf("bench_party: %d rounds, medians; loopback, one thread, ~1 kHz frames\n", rounds);
    std::printf("two-player session, connect() -> connected:     %7.1f ms (baseline)\n",
                pair * 1e3);
    for (std::size_t m = 0; m < kMarks.size(); ++m) {
        const double t = med([m](const Round& r) { return r.join[m]; });
        std::printf("member %2zu, join_party() -> connected to all:  %7.1f ms  (%.2fx)\n",
                    kMarks[m], t * 1e3, t / pair);
    }
    const double pair_bytes = med([](const Round& r) { return r.pair_rest.bytes_per_second; });
    const double party_bytes = med([](const Round& r) { return r.party_rest.bytes_per_second; });
    std::printf(
        "at rest, bytes sent per member per second: two-player %.0f, party of 16 %.0f "
        "(%.2fx; %.0f per peer)\n",
        pair_bytes, party_bytes, party_bytes / pair_bytes, party_bytes / 15.0);
    std::printf(
        "at rest, CPU per member: update() %.1f us/s (two-player %.1f us/s), server %.1f "
        "us/s per member (two-player %.1f)\n",
        med([](const Round& r) { return r.party_rest.client_cpu_per_second; }) * 1e6,
        med([](const Round& r) { return r.pair_rest.client_cpu_per_second; }) * 1e6,
        med([](const Round& r) { return r.party_rest.server_cpu_per_second; }) * 1e6,
        med([](const Round& r) { return r.pair_rest.server_cpu_per_second; }) * 1e6);
    std::printf(
        "resident memory per session of the party (ENet host with 16 peer slots, "
        "connections): %.1f KiB\n",
        med([](const Round& r) { return r.bytes_per_session; }) / 1024.0);
    return 0;
}
